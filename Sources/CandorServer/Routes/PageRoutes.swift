import HTTPTypes
import Hummingbird
import NIOCore

/// `GET /` and `GET /ui`: the web page for trying a model by hand, with its script
/// (`/ui/app.js`) and style sheet (`/ui/app.css`). Everything is compiled into the binary;
/// the page loads nothing from elsewhere, and its Content-Security-Policy forbids it to.
///
/// `GET /` is also KServe V1's liveness check, which reads `{"status": "alive"}`: a client
/// whose `Accept` does not name `text/html` (KServe's, curl's `*/*`) gets that instead of the
/// page; browsers always name it.
struct PageRoutes {
    /// Same-origin scripts, styles and API calls only; pictures may also be `data:` URLs (the
    /// rendered explanations and the preview of a chosen file).
    static let contentSecurityPolicy =
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; "
        + "object-src 'none'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"

    private static let referrerPolicy = HTTPField.Name("Referrer-Policy")!

    func register(on router: Router<CandorRequestContext>) {
        router.get("/") { request, _ in
            var response =
                Self.wantsPage(request.headers[values: .accept])
                ? Self.response(PageHTML.text, contentType: "text/html; charset=utf-8") : try JSONResponse.make(["status": "alive"])
            response.headers[.vary] = "Accept"
            return response
        }
        router.get("/ui") { _, _ in Self.response(PageHTML.text, contentType: "text/html; charset=utf-8") }
        router.get("/ui/app.js") { _, _ in Self.response(PageScript.text, contentType: "text/javascript; charset=utf-8") }
        router.get("/ui/app.css") { _, _ in Self.response(PageStyle.text, contentType: "text/css; charset=utf-8") }
    }

    /// Whether an `Accept` header names HTML (with a nonzero quality).
    static func wantsPage(_ accept: [String]) -> Bool {
        QualityList.parse(accept).contains { $0.token == "text/html" && $0.quality > 0 }
    }

    /// The text with the headers every part of the page is served with: revalidated on every
    /// load (a new binary may bring a new page), never sniffed, never framed.
    static func response(_ text: String, contentType: String) -> Response {
        Response(
            status: .ok,
            headers: [
                .contentType: contentType, .cacheControl: "no-cache", .contentSecurityPolicy: contentSecurityPolicy,
                .xContentTypeOptions: "nosniff", referrerPolicy: "no-referrer",
            ],
            body: .init(byteBuffer: ByteBuffer(string: text)))
    }
}
