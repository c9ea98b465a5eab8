#!/usr/bin/env python3
"""Drives the Candor web page in headless Chromium through chromedriver (W3C WebDriver).

Standard library only. scripts/test-page.sh starts the server and chromedriver and runs this;
run it by hand with --base-url and --driver-url. Exits 1 with the failed check's name.
"""
import argparse
import base64
import json
import os
import struct
import sys
import time
import urllib.error
import urllib.request
import zlib

TAB = "\ue004"


class CheckFailed(Exception):
    pass


class WebDriver:
    def __init__(self, url, chromium):
        self.url = url.rstrip("/")
        capabilities = {
            "browserName": "chrome",
            "goog:chromeOptions": {
                "binary": chromium,
                "args": ["--headless=new", "--no-sandbox", "--window-size=1280,800", "--disable-gpu",
                         "--disable-dev-shm-usage", "--no-first-run", "--no-default-browser-check"],
            },
            "goog:loggingPrefs": {"browser": "ALL"},
        }
        answer = self.call("POST", "/session", {"capabilities": {"alwaysMatch": capabilities}})
        self.session = answer["sessionId"]

    def call(self, verb, path, body=None, timeout=120):
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(self.url + path, data=data, method=verb,
                                         headers={"Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(request, timeout=timeout) as response:
                return json.loads(response.read() or b"{}").get("value")
        except urllib.error.HTTPError as error:
            detail = error.read().decode(errors="replace")
            try:
                value = json.loads(detail)["value"]
                detail = f"{value.get('error')}: {value.get('message', '')[:400]}"
            except (ValueError, KeyError, TypeError, AttributeError):
                pass
            raise CheckFailed(f"WebDriver {verb} {path} failed: {detail}") from None

    def s(self, verb, path, body=None, timeout=120):
        return self.call(verb, f"/session/{self.session}{path}", body, timeout)

    def quit(self):
        try:
            self.call("DELETE", f"/session/{self.session}")
        except CheckFailed:
            pass

    def get(self, url):
        self.s("POST", "/url", {"url": url})

    def js(self, script, *args):
        return self.s("POST", "/execute/sync", {"script": script, "args": list(args)})

    def find(self, css):
        value = self.s("POST", "/element", {"using": "css selector", "value": css})
        return next(iter(value.values()))

    def click(self, css):
        self.s("POST", f"/element/{self.find(css)}/click", {})

    def type(self, css, text):
        self.s("POST", f"/element/{self.find(css)}/value", {"text": text})

    def clear(self, css):
        self.s("POST", f"/element/{self.find(css)}/clear", {})

    def press(self, key):
        self.s("POST", "/actions", {"actions": [{"type": "key", "id": "keyboard", "actions": [
            {"type": "keyDown", "value": key}, {"type": "keyUp", "value": key}]}]})

    def browser_log(self):
        """The browser's console entries since the last call (chromedriver's legacy endpoint)."""
        return self.s("POST", "/se/log", {"type": "browser"}) or []

    def viewport(self, width, height, mobile=False):
        self.s("POST", "/goog/cdp/execute", {"cmd": "Emulation.setDeviceMetricsOverride", "params": {
            "width": width, "height": height, "deviceScaleFactor": 1, "mobile": mobile}})

    def screenshot(self, path):
        with open(path, "wb") as file:
            file.write(base64.b64decode(self.s("GET", "/screenshot")))

    def wait(self, script, what, timeout=90, *args):
        deadline = time.monotonic() + timeout
        while True:
            value = self.js(script, *args)
            if value:
                return value
            if time.monotonic() > deadline:
                error = self.js("const e = document.getElementById('error'); return e && !e.hidden ? e.innerText : '';")
                status = self.js("return document.getElementById('status').innerText;")
                raise CheckFailed(f"timed out after {timeout} s waiting for {what}; status: {status!r}"
                                  + (f"; error shown: {error!r}" if error else ""))
            time.sleep(0.25)


def png(width, height, pixel):
    """A PNG (8-bit RGB) whose pixel (x, y) is pixel(x, y), made with zlib only."""
    rows = b"".join(b"\x00" + b"".join(bytes(pixel(x, y)) for x in range(width)) for y in range(height))

    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b"")


def triangle(x, y):
    """A filled light triangle on a dark background, as the shapes models were trained on."""
    inside = 6 <= y <= 26 and abs(x - 16) <= (y - 6) * 0.5
    return (230, 200, 40) if inside else (30, 40, 60)


def circle(x, y):
    """A filled red circle on black, 64×64 (the server resizes it to the model's 32×32)."""
    return (220, 30, 30) if (x - 31.5) ** 2 + (y - 31.5) ** 2 <= 22 ** 2 else (0, 0, 0)


class PageTest:
    def __init__(self, options):
        self.options = options
        self.base = options.base_url.rstrip("/")
        self.driver = WebDriver(options.driver_url, options.chromium)
        self.passed = []

    def check(self, condition, message):
        if not condition:
            raise CheckFailed(message)

    def ok(self, name):
        self.passed.append(name)
        print(f"ok   {name}", flush=True)

    def console_errors(self, allowed=()):
        entries = self.driver.browser_log()
        return [e for e in entries if e.get("level") == "SEVERE" and not any(a in e.get("message", "") for a in allowed)]

    def choose_model(self, name):
        self.driver.click(f"#model option[value='{name}']")
        self.driver.wait("return document.body.dataset.model === arguments[0]", f"{name} to be ready", 90, name)

    def choose_method(self, name):
        self.driver.click(f"#method option[value='{name}']")

    def set_parameter(self, name, text):
        if not self.driver.js("return document.getElementById('params-box').open"):
            self.driver.click("#params-box summary")
        self.driver.clear(f"#param-{name}")
        self.driver.type(f"#param-{name}", text)

    def explain(self, what):
        self.driver.js("document.getElementById('result').replaceChildren(); document.getElementById('error').hidden = true;")
        self.driver.click("#explain")
        return self.driver.wait(
            "const e = document.getElementById('error');"
            "if (!e.hidden) return {error: e.innerText};"
            "const p = document.getElementById('prediction');"
            "return p ? {prediction: p.innerText.replace(/\\n+/g, ' ')} : null;",
            f"the explanation of {what}", timeout=180)

    def run(self):
        d = self.driver
        d.viewport(1280, 800)
        d.get(self.base + "/")
        d.wait("return document.getElementById('model').options.length > 1", "the model list")
        self.check(d.js("return document.title").startswith("Candor"), "the page's title is not Candor's")
        errors = self.console_errors()
        self.check(not errors, f"console errors while loading the page: {errors}")
        models = d.js("return [...document.getElementById('model').options].map(o => o.value).filter(Boolean)")
        for name in ("credit_mlp", "shapes_cnn"):
            self.check(name in models, f"the model list lacks {name}: {models}")
        self.ok("the page loads, lists the models and logs no console error")

        self.keyboard()
        self.tabular()
        self.image()
        self.text()
        self.api_error()
        self.phone()
        errors = self.console_errors(allowed=("the server responded with a status of 400",))
        self.check(not errors, f"console errors: {errors}")
        self.ok("no console errors besides the 400 asked for")

    def keyboard(self):
        d = self.driver
        d.js("document.activeElement && document.activeElement.blur(); window.scrollTo(0, 0);")
        reached = []
        outlines = {}
        for _ in range(12):
            d.press(TAB)
            info = d.js("const a = document.activeElement; const s = getComputedStyle(a);"
                        "return {id: a.id || a.tagName, outline: s.outlineStyle, width: s.outlineWidth};")
            reached.append(info["id"])
            outlines[info["id"]] = info
        self.check("model" in reached, f"Tab never reaches the model select: {reached}")
        shown = outlines["model"]
        self.check(shown["outline"] != "none" and shown["width"] not in ("0px", ""),
                   f"the focused model select shows no focus ring: {shown}")
        # Choose credit_mlp with the keyboard alone: focus the select and type.
        d.js("document.getElementById('model').focus()")
        self.choose_model("credit_mlp")
        d.js("document.getElementById('model').focus()")
        reached = []
        for _ in range(40):
            d.press(TAB)
            reached.append(d.js("return document.activeElement.id || document.activeElement.tagName"))
        for control in ("method", "target", "feature-0", "feature-7", "render-on", "explain"):
            self.check(control in reached, f"Tab from the model select never reaches #{control}: {reached}")
        unlabelled = d.js(
            "return [...document.querySelectorAll('input, select, textarea')].filter(c => !c.closest('[hidden]'))"
            ".filter(c => !(c.labels && c.labels.length) && !c.getAttribute('aria-label')).map(c => c.id || c.name)")
        self.check(not unlabelled, f"controls without a label: {unlabelled}")
        self.ok("keyboard focus reaches every control, visibly; every control is labelled")

    def tabular(self):
        d = self.driver
        self.choose_model("credit_mlp")
        fields = d.js("return [...document.querySelectorAll('#features input')].map(i => "
                      "({label: i.labels[0].textContent, value: i.value, min: i.min, max: i.max}))")
        self.check(len(fields) == 8, f"credit_mlp should have 8 feature fields, has {len(fields)}")
        self.check(fields[0]["label"] == "age", f"the first field should be labelled age: {fields[0]}")
        self.check(all(f["value"] != "" and f["min"] != "" and f["max"] != "" for f in fields),
                   f"feature fields should be prefilled with the example and ranged: {fields}")
        self.ok("credit_mlp shows one labelled, prefilled, ranged field per feature")

        self.choose_method("kernel_shap")
        answer = self.explain("credit_mlp with kernel_shap")
        self.check("error" not in answer, f"credit_mlp kernel_shap was answered with an error: {answer.get('error')}")
        rows = d.js("return [...document.querySelectorAll('#result table')].map(t => t.caption.textContent)")
        self.check("Attributions" in rows, f"the result has no attributions table: {rows}")
        self.check(d.js("return document.querySelectorAll('#result .bar').length") == 8, "the attributions table should have 8 bars")
        curl = d.js("return document.getElementById('curl').textContent")
        self.check(curl.startswith("curl -s '" + self.base + "/v1/models/credit_mlp/explain'") and '"method":"kernel_shap"' in curl,
                   f"the curl command does not reproduce the request: {curl[:200]}")
        status = d.js("return document.getElementById('status').textContent")
        self.check("Explained with kernel_shap" in status, f"the live region does not announce the result: {status!r}")
        self.ok(f"credit_mlp explained: {answer['prediction']}")
        src = d.js("const i = document.querySelector('#picture img'); return i ? i.src : ''")
        self.check(src.startswith("data:image/svg+xml"), f"credit_mlp's result has no bar chart (image: {src[:60]!r})")
        self.check(d.js("const i = document.querySelector('#picture img'); return i.complete && i.naturalWidth > 0"),
                   "the bar chart does not decode")
        self.ok("credit_mlp's bar chart is shown")
        if self.options.screenshots:
            d.js("window.scrollTo(0, 0)")
            d.screenshot(os.path.join(self.options.screenshots_dir, "page-desktop.png"))
            self.ok("saved docs/page-desktop.png")

        # Quality metrics and a parameter changed by hand: only that one is sent.
        self.choose_method("integrated_gradients")
        d.click("#metric-deletion")
        self.set_parameter("n_steps", "16")
        answer = self.explain("credit_mlp with integrated_gradients and deletion")
        self.check("error" not in answer, f"integrated_gradients with deletion was answered with an error: {answer.get('error')}")
        sent = d.js("return document.getElementById('curl').textContent")
        self.check('"params":{"n_steps":16}' in sent, f"only the changed parameter should be sent: {sent[:300]}")
        quality = d.js("return [...document.querySelectorAll('#result table')].some(t => t.caption.textContent === 'Quality')")
        self.check(quality, "the deletion metric asked for is not shown")
        d.click("#metric-deletion")
        self.ok("quality metrics are shown; only changed parameters are sent")

        self.choose_method("lime")
        answer = self.explain("credit_mlp with lime")
        self.check("error" not in answer, f"lime was answered with an error: {answer.get('error')}")
        self.check(d.js("return [...document.querySelectorAll('#result table')].some(t => t.caption.textContent === 'Rules')"),
                   "lime's rules are not shown as a table")
        self.check(d.js("return document.querySelectorAll('#result th').length > 0 && "
                        "[...document.querySelectorAll('#result th')].some(t => t.textContent.includes('1.96'))"),
                   "lime's attributions_stderr is not shown as error bars")
        self.ok("lime's rules and error bars are shown")

    def image(self):
        d = self.driver
        self.choose_model("shapes_cnn")
        self.check(d.js("return !document.getElementById('image-inputs').hidden"), "shapes_cnn shows no image input")
        self.check(d.js("return !document.getElementById('image-render').hidden"), "shapes_cnn shows no picture settings")
        self.choose_method("grad_cam")
        # Drop a PNG on the drop zone (a synthetic drop event carrying a File).
        picture = base64.b64encode(png(32, 32, triangle)).decode()
        d.js("const bytes = Uint8Array.from(atob(arguments[0]), c => c.charCodeAt(0));"
             "const dt = new DataTransfer(); dt.items.add(new File([bytes], 'dropped.png', {type: 'image/png'}));"
             "document.getElementById('drop-zone').dispatchEvent(new DragEvent('drop', {dataTransfer: dt, bubbles: true, cancelable: true}));",
             picture)
        d.wait("return document.getElementById('image-name').textContent.startsWith('dropped.png')", "the dropped file to be read")
        self.ok("a PNG dropped on the drop zone is read")
        # Choose a PNG with the file input (as a keyboard user would).
        path = os.path.join(self.options.work_dir, "circle.png")
        with open(path, "wb") as file:
            file.write(png(64, 64, circle))
        d.type("#image-file", path)
        d.wait("return document.getElementById('image-name').textContent.startsWith('circle.png')", "the chosen file to be read")
        self.check(d.js("const i = document.getElementById('image-preview'); return !i.hidden && i.naturalWidth === 64"),
                   "the chosen PNG is not previewed")
        self.ok("a PNG chosen with the file input is read and previewed")
        d.click("#render-kind option[value='blended_heat_map']")
        answer = self.explain("the chosen PNG with grad_cam")
        self.check("error" not in answer, f"shapes_cnn grad_cam on a PNG was answered with an error: {answer.get('error')}")
        src = d.js("const i = document.querySelector('#picture img'); return i ? i.src : ''")
        self.check(src.startswith("data:image/png"), f"shapes_cnn's result has no heat map (image: {src[:60]!r})")
        self.check(d.js("const i = document.querySelector('#picture img'); return i.complete && i.naturalWidth > 0"),
                   "the heat map does not decode")
        self.ok(f"shapes_cnn's heat map of the chosen PNG is shown: {answer['prediction']}")
        shown = d.js("const box = (i) => { const r = i.getBoundingClientRect(); return {top: r.top, left: r.left, width: r.width,"
                     " natural: i.naturalWidth, rendering: getComputedStyle(i).imageRendering, src: i.src}; };"
                     "const o = document.querySelector('#picture-original img');"
                     "return {map: box(document.querySelector('#picture img')), original: o ? box(o) : null};")
        heat, original = shown["map"], shown["original"]
        self.check(heat["width"] >= 4 * heat["natural"] and heat["rendering"] == "pixelated",
                   f"the heat map is not shown enlarged with sharp pixels: {heat}")
        self.check(original is not None and original["src"].startswith("data:image/png")
                   and abs(original["top"] - heat["top"]) < 1 and original["left"] < heat["left"],
                   f"the image explained is not shown beside its heat map: {original}")
        self.ok("the heat map is enlarged, with sharp pixels, beside the image explained")
        if self.options.screenshots:
            d.js("const top = document.getElementById('result-title').getBoundingClientRect().top;"
                 "window.scrollTo(0, window.scrollY + top - 16)")
            d.screenshot(os.path.join(self.options.screenshots_dir, "page-image.png"))
            self.ok("saved docs/page-image.png")

    def text(self):
        d = self.driver
        self.choose_model("review_sentiment")
        self.check(d.js("return !document.getElementById('text-inputs').hidden"), "review_sentiment shows no text box")
        self.check(d.js("return document.getElementById('render-box').hidden && document.getElementById('metrics-box').hidden"),
                   "review_sentiment offers pictures or quality metrics, which text does not take")
        self.check(d.js("return document.getElementById('method').value") == "layer_integrated_gradients",
                   "a text model should start on layer_integrated_gradients")
        # A text with markup in it: it must come back as text, never as elements.
        d.js("document.getElementById('text-input').value = arguments[0]",
             "The headphones are great but the <b>battery</b> is terrible")
        answer = self.explain("review_sentiment with layer_integrated_gradients")
        self.check("error" not in answer, f"review_sentiment was answered with an error: {answer.get('error')}")
        # The server's highlight (render on text): the text as typed, each token marked.
        tokens = d.js("return [...document.querySelectorAll('#tokens mark')].map(t => t.textContent)")
        self.check(tokens[:2] == ["The", "headphones"] and "terrible" in tokens and "<" in tokens,
                   f"the text's tokens are not shown in order: {tokens}")
        self.check(d.js("return document.getElementById('tokens').textContent")
                   == "The headphones are great but the <b>battery</b> is terrible",
                   "the highlighted text is not the text as typed")
        self.check(d.js("return document.querySelectorAll('#tokens b, #result b').length") == 0,
                   "markup in the text was rendered as markup")
        shades = d.js("return [...document.querySelectorAll('#tokens mark')].map(t => getComputedStyle(t).backgroundColor)")
        self.check(len(set(shades)) > 2, f"the tokens are not shaded by their attributions: {shades[:5]}")
        self.check(d.js("return [...document.querySelectorAll('#result table')].some(t => t.caption.textContent === 'Attributions')"),
                   "the tokens' attributions are not tabulated")
        self.ok(f"review_sentiment's tokens are shown shaded by their attributions: {answer['prediction']}")
        if self.options.screenshots:
            d.js("const top = document.getElementById('result-title').getBoundingClientRect().top;"
                 "window.scrollTo(0, window.scrollY + top - 16)")
            d.screenshot(os.path.join(self.options.screenshots_dir, "page-text.png"))
            self.ok("saved docs/page-text.png")

    def api_error(self):
        d = self.driver
        self.choose_model("iris_mlp")
        self.choose_method("integrated_gradients")
        d.js("document.getElementById('render-on').checked = false")
        self.set_parameter("n_steps", "0")
        answer = self.explain("iris_mlp with n_steps 0")
        self.check("error" in answer, "n_steps = 0 should be refused by the API")
        self.check("Bad Request (400)" in answer["error"] and "n_steps" in answer["error"],
                   f"the problem's title and detail are not shown: {answer['error']!r}")
        self.check(d.js("return document.getElementById('error').getAttribute('role')") == "alert",
                   "the error box is not an alert")
        d.js("document.getElementById('render-on').checked = true")
        self.ok("an API error shows its title and detail in an alert")

    def phone(self):
        d = self.driver
        d.viewport(390, 844, mobile=True)
        d.get(self.base + "/?model=credit_mlp")
        d.wait("return document.querySelectorAll('#features input').length === 8", "credit_mlp's form at phone width")
        overflow = d.js("return document.documentElement.scrollWidth")
        self.check(overflow <= 391, f"the page is {overflow} px wide at a 390 px viewport")
        if self.options.screenshots:
            d.js("window.scrollTo(0, 0)")
            d.screenshot(os.path.join(self.options.screenshots_dir, "page-phone.png"))
            self.ok("saved docs/page-phone.png")
        self.ok("nothing overflows at 390×844")
        d.viewport(1280, 800)


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--base-url", required=True)
    parser.add_argument("--driver-url", required=True)
    parser.add_argument("--chromium", default="/usr/bin/chromium")
    parser.add_argument("--work-dir", default="/tmp")
    parser.add_argument("--screenshots", action="store_true")
    parser.add_argument("--screenshots-dir", default=os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "docs"))
    options = parser.parse_args()
    try:
        test = PageTest(options)
    except (CheckFailed, OSError) as error:
        print(f"page test: could not start a browser session: {error}", file=sys.stderr)
        return 1
    try:
        test.run()
    except CheckFailed as error:
        print(f"FAIL {error}", file=sys.stderr)
        return 1
    finally:
        test.driver.quit()
    print(f"page test: all {len(test.passed)} checks passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
