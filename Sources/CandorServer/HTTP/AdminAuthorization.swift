import Crypto
import Foundation
import HTTPTypes
import Hummingbird

/// The admin routes (adding and removing models and datasets) need
/// `Authorization: Bearer <admin.token>`; with no token configured they are disabled.
enum AdminAuthorization {
    static func check(_ request: Request, token: String) throws {
        guard !token.isEmpty else {
            throw Problem(
                .forbidden, code: "admin-disabled",
                detail: "administration is disabled: set admin.token in the configuration (or CANDOR_ADMIN_TOKEN) to enable it")
        }
        let given = request.headers[.authorization].flatMap(bearerToken) ?? ""
        // Compare digests, so the comparison takes the same time wherever the strings differ.
        guard SHA256.hash(data: Data(given.utf8)) == SHA256.hash(data: Data(token.utf8)) else {
            var problem = Problem(
                .unauthorized, code: "unauthorized", detail: "this route needs the admin bearer token: Authorization: Bearer <token>")
            problem.headers[.wwwAuthenticate] = "Bearer"
            throw problem
        }
    }

    /// The token of a `Bearer` credential. The scheme is case-insensitive and followed by one
    /// or more spaces (RFC 9110 §11.1, §11.4; RFC 6750 §2.1).
    static func bearerToken(_ credentials: String) -> String? {
        guard let space = credentials.firstIndex(of: " "), credentials[..<space].lowercased() == "bearer" else { return nil }
        return String(credentials[space...].drop(while: { $0 == " " }))
    }
}
