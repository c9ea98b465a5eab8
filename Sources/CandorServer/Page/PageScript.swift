/// The web page's behaviour (`/ui/app.js`): loads the models, methods and metrics, builds the
/// form from them (one field per feature or a file input for an image model, one per method
/// parameter with its default), posts the explain request and shows the answer — prediction,
/// picture, attributions with their error bars, quality, rules, counterfactuals — with the
/// curl command that repeats it. Plain ES2020, no libraries, nothing fetched from elsewhere.
/// The script is one closure over the page's state, kept in four files by what each part
/// does: this one (state, helpers, start), `PageScriptInputs` (the model, its features and
/// pictures), `PageScriptRequest` (method parameters and the request) and `PageScriptAnswer`
/// (showing the answer).
enum PageScript {
    static let text = [prelude, PageScriptInputs.text, PageScriptRequest.text, PageScriptAnswer.text, start].joined(separator: "\n")

    private static let prelude = #"""
        "use strict";
        (() => {
          const $ = (id) => document.getElementById(id);
          const state = { models: [], methods: new Map(), metrics: [], model: null, imageInstance: null, busy: false };

          function el(tag, attrs, ...children) {
            const node = document.createElement(tag);
            for (const [key, value] of Object.entries(attrs || {})) {
              if (value === undefined || value === null || value === false) continue;
              if (key === "class") node.className = value;
              else if (key === "text") node.textContent = value;
              else if (key in node && typeof value !== "string") node[key] = value;
              else node.setAttribute(key, value === true ? "" : value);
            }
            for (const child of children.flat()) {
              if (child === undefined || child === null) continue;
              node.append(typeof child === "string" || typeof child === "number" ? String(child) : child);
            }
            return node;
          }

          function format(value) {
            if (typeof value !== "number") return value === null ? "null" : String(value);
            if (Number.isInteger(value)) return String(value);
            const abs = Math.abs(value);
            return abs !== 0 && (abs < 1e-3 || abs >= 1e6) ? value.toExponential(3) : String(Number(value.toPrecision(4)));
          }

          class ApiError extends Error {
            constructor(status, title, detail, type) {
              super(detail || title);
              this.status = status;
              this.title = title;
              this.detail = detail;
              this.type = type;
            }
          }

          async function api(path, body) {
            const init = body === undefined
              ? {}
              : { method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(body) };
            let response;
            try {
              response = await fetch(path, init);
            } catch (error) {
              throw new ApiError(0, "The server could not be reached", String(error && error.message || error));
            }
            const text = await response.text();
            let json = null;
            try { json = text ? JSON.parse(text) : null; } catch (_) { json = null; }
            if (!response.ok) {
              const title = (json && json.title) || `HTTP ${response.status}`;
              const detail = (json && json.detail) || text.slice(0, 500);
              throw new ApiError(response.status, title, detail, json && json.type);
            }
            return json;
          }

          function setStatus(text, busy) {
            $("status").textContent = text;
            $("status").classList.toggle("busy", !!busy);
          }

          function showError(error) {
            const box = $("error");
            box.replaceChildren();
            if (!error) { box.hidden = true; return; }
            const status = error.status ? ` (${error.status})` : "";
            box.append(el("strong", { text: `${error.title || "Error"}${status}` }));
            if (error.detail) box.append(el("p", { text: error.detail }));
            if (error.type) box.append(el("p", { class: "hint", text: error.type }));
            box.hidden = false;
          }

        """#

    private static let start = #"""
          // ---- start --------------------------------------------------------------------------

          async function start() {
            $("model").addEventListener("change", () => chooseModel($("model").value));
            $("method").addEventListener("change", chooseMethod);
            $("output").addEventListener("change", fillTargets);
            $("explain-form").addEventListener("submit", explain);
            $("copy-curl").addEventListener("click", copyCurl);
            $("use-example").addEventListener("click", useExampleImage);
            $("reset-example").addEventListener("click", () => state.model && buildFeatureFields(state.model));
            $("image-file").addEventListener("change", () => readImageFile($("image-file").files[0]));
            const zone = $("drop-zone");
            for (const name of ["dragenter", "dragover"]) {
              zone.addEventListener(name, (event) => { event.preventDefault(); zone.classList.add("dragging"); });
            }
            for (const name of ["dragleave", "drop"]) {
              zone.addEventListener(name, (event) => { event.preventDefault(); zone.classList.remove("dragging"); });
            }
            zone.addEventListener("drop", (event) => readImageFile(event.dataTransfer && event.dataTransfer.files[0]));

            setStatus("Loading models…", true);
            try {
              const [models, methods, evaluations] = await Promise.all([api("/v1/models"), api("/v1/methods"), api("/v1/evaluations")]);
              state.models = models.models || [];
              for (const method of methods.methods || []) state.methods.set(method.name, method);
              state.metrics = evaluations.metrics || [];
            } catch (error) {
              setStatus("The page could not load the models.");
              showError(error);
              return;
            }
            $("metrics").replaceChildren(...state.metrics.map((metric) => el("div", { class: "field check" },
              el("input", {
                type: "checkbox", id: `metric-${metric.name}`, value: metric.name, "aria-describedby": `metric-${metric.name}-hint`,
              }),
              el("label", { for: `metric-${metric.name}`, text: metric.name }),
              el("span", { class: "hint visually-hidden", id: `metric-${metric.name}-hint`, text: metric.summary || "" }))));
            const options = state.models.map((m) => el("option", { value: m.name, text: m.name }));
            const prompt = el("option", { value: "", text: state.models.length ? "Choose a model" : "No model is loaded" });
            $("model").replaceChildren(prompt, ...options);
            setStatus(state.models.length ? "Choose a model to begin." : "The server has no model loaded.");
            const wanted = new URLSearchParams(location.search).get("model");
            if (wanted && state.models.some((m) => m.name === wanted)) {
              $("model").value = wanted;
              await chooseModel(wanted);
            }
          }

          document.addEventListener("DOMContentLoaded", start);
        })();
        """#
}
