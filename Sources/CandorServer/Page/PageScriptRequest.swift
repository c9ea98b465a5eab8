/// The page script's request part: the method's parameter fields from `/v1/methods` (only
/// changed values are sent), the explain request with its `render`, and the curl command
/// that repeats it. Part of `PageScript`.
enum PageScriptRequest {
    static let text = #"""
          // ---- methods and parameters -----------------------------------------------------------

          const jsonTypes = new Set(["baselines", "feature_mask", "integers", "instances", "class", "interval", "features",
            "feature_ranges", "feature_groups", "feature_items", "object"]);

          function chooseMethod() {
            const info = state.methods.get($("method").value);
            $("method-info").textContent = info ? `${info.summary} (${info.family})` : "";
            const fields = ((info && info.parameters) || []).map(parameterField);
            const none = el("p", { class: "hint", text: "This method takes no parameters." });
            $("params").replaceChildren(...(fields.length ? fields : [none]));
          }

          function parameterField(spec) {
            const id = `param-${spec.name}`;
            const hintId = `${id}-hint`;
            const limits = [];
            if (spec.minimum !== undefined && spec.minimum !== null) limits.push(`min ${format(spec.minimum)}`);
            if (spec.maximum !== undefined && spec.maximum !== null) limits.push(`max ${format(spec.maximum)}`);
            const hint = `${spec.description || ""}${limits.length ? ` (${limits.join(", ")})` : ""}`;
            const hasDefault = spec.default !== undefined && spec.default !== null;
            let control;
            if (spec.type === "boolean") {
              control = el("input", { type: "checkbox", id, "aria-describedby": hintId });
              control.checked = spec.default === true;
              control.dataset.initial = String(control.checked);
              return el("div", { class: "field" },
                el("div", { class: "field check" }, control, el("label", { for: id, text: spec.name })),
                el("p", { class: "hint", id: hintId, text: hint }));
            }
            if (spec.type === "string" && Array.isArray(spec.choices)) {
              const options = spec.choices.map((choice) => el("option", { value: choice, text: choice }));
              if (!hasDefault) options.unshift(el("option", { value: "", text: "(method decides)" }));
              control = el("select", { id, "aria-describedby": hintId }, options);
              control.value = hasDefault ? String(spec.default) : "";
            } else if (spec.type === "integer" || spec.type === "number") {
              control = el("input", {
                type: "number", id, "aria-describedby": hintId, inputmode: spec.type === "integer" ? "numeric" : "decimal",
                step: spec.type === "integer" ? "1" : "any",
                min: spec.minimum !== undefined && spec.minimum !== null ? String(spec.minimum) : undefined,
                max: spec.maximum !== undefined && spec.maximum !== null ? String(spec.maximum) : undefined,
                value: hasDefault ? String(spec.default) : "",
                placeholder: hasDefault ? undefined : "method decides",
              });
            } else {
              const value = hasDefault ? (typeof spec.default === "string" ? spec.default : JSON.stringify(spec.default)) : "";
              control = el("input", {
                type: "text", id, "aria-describedby": hintId, value, autocomplete: "off", spellcheck: "false",
                placeholder: jsonTypes.has(spec.type) ? `${spec.type} (JSON)` : undefined,
              });
            }
            control.dataset.initial = control.value;
            control.dataset.type = spec.type;
            control.dataset.name = spec.name;
            return el("div", { class: "field" },
              el("label", { for: id }, spec.name, el("span", { class: "hint", text: ` ${spec.type}` })),
              control,
              el("p", { class: "hint", id: hintId, text: hint }));
          }

          function changedParameters() {
            const params = {};
            for (const control of $("params").querySelectorAll("input, select")) {
              const name = control.dataset.name || control.id.replace(/^param-/, "");
              const type = control.dataset.type;
              if (control.type === "checkbox") {
                if (String(control.checked) !== control.dataset.initial) params[name] = control.checked;
                continue;
              }
              const raw = control.value.trim();
              if (raw === control.dataset.initial.trim() || raw === "") continue;
              if (type === "integer" || type === "number") {
                const number = Number(raw);
                if (!Number.isFinite(number)) {
                  throw new ApiError(0, "A parameter is not a number", `'${name}' must be a number, got '${raw}'.`);
                }
                params[name] = number;
              } else if (type === "string") {
                params[name] = raw;
              } else {
                try { params[name] = JSON.parse(raw); } catch (_) {
                  if (type === "class" || type === "instances") params[name] = raw;
                  else throw new ApiError(0, "A parameter is not valid JSON", `'${name}' (${type}) must be JSON, got '${raw}'.`);
                }
              }
            }
            return params;
          }

          // ---- the request ----------------------------------------------------------------------

          function buildRequest() {
            const model = state.model;
            const kind = inputKind(model);
            const body = { method: $("method").value };
            if (kind === "tabular") {
              body.inputs = [tabularInstance()];
            } else if (kind === "text") {
              const text = $("text-input").value;
              if (text.trim() === "") {
                $("text-input").focus();
                throw new ApiError(0, "No text yet", "Write the text to explain first.");
              }
              body.inputs = [{ text }];
            } else {
              if (!state.imageInstance) {
                $("image-file").focus();
                throw new ApiError(0, "No image yet", "Choose or drop an image file first.");
              }
              body.inputs = [state.imageInstance];
            }
            if ($("target").value !== "") {
              const index = Number($("target").value);
              const names = model.class_names;
              body.target = names && names[index] !== undefined ? names[index] : index;
            }
            if ($("output").value !== "") body.output = $("output").value;
            body.params = changedParameters();
            // Text is always drawn: the server's highlight of it is what the answer shows.
            if (kind === "text") body.render = {};
            if ($("render-on").checked && kind !== "text") {
              if (kind === "image") {
                const render = { kind: $("render-kind").value, sign: $("render-sign").value };
                const outlier = Number($("render-outlier").value);
                if ($("render-outlier").value.trim() !== "" && Number.isFinite(outlier)) render.outlier_perc = outlier;
                const alpha = Number($("render-alpha").value);
                if ($("render-alpha").value.trim() !== "" && Number.isFinite(alpha)) render.alpha_overlay = alpha;
                const colormap = $("render-colormap").value.trim();
                if (colormap) render.colormap = colormap;
                body.render = render;
              } else {
                body.render = { kind: "bar_chart" };
              }
            }
            const metrics = [...$("metrics").querySelectorAll("input:checked")].map((box) => box.value);
            if (metrics.length && kind !== "text") body.evaluate = metrics;
            return body;
          }

          function curlCommand(path, body) {
            const quote = (text) => `'${text.replace(/'/g, `'\\''`)}'`;
            return `curl -s ${quote(location.origin + path)} -H 'Content-Type: application/json' -d ${quote(JSON.stringify(body))}`;
          }

          async function explain(event) {
            event.preventDefault();
            if (state.busy || !state.model) return;
            showError(null);
            let body;
            try { body = buildRequest(); } catch (error) { showError(error); setStatus("Nothing was sent."); return; }
            const model = state.model;
            const path = `/v1/models/${encodeURIComponent(model.name)}/explain`;
            // The picture explained, kept now so that choosing another file meanwhile does not change it.
            const original = inputKind(model) === "image" && !$("image-preview").hidden
              ? { src: $("image-preview").src, label: state.imageLabel }
              : null;
            $("curl").textContent = curlCommand(path, body);
            $("curl-box").hidden = false;
            $("copy-status").textContent = "";
            state.busy = true;
            $("explain").disabled = true;
            $("result").setAttribute("aria-busy", "true");
            setStatus(`Explaining with ${body.method}…`, true);
            try {
              showResult(model, body, await api(path, body), original);
            } catch (error) {
              $("result").replaceChildren();
              setStatus(`${body.method} failed: ${error.title}.`);
              showError(error);
            } finally {
              state.busy = false;
              $("explain").disabled = false;
              $("result").removeAttribute("aria-busy");
            }
          }

        """#
}
