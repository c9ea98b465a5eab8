/// The web page's behaviour (`/ui/app.js`): loads the models, methods and metrics, builds the
/// form from them (one field per feature or a file input for an image model, one per method
/// parameter with its default), posts the explain request and shows the answer — prediction,
/// picture, attributions with their error bars, quality, rules, counterfactuals — with the
/// curl command that repeats it. Plain ES2020, no libraries, nothing fetched from elsewhere.
enum PageScript {
    static let text = #"""
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

          // ---- the model ----------------------------------------------------------------------

          function inputKind(model) {
            const inputs = model.inputs || [];
            if (inputs.length !== 1) return "other";
            const shape = inputs[0].shape;
            if (shape.length === 2 && typeof shape[1] === "number") return "tabular";
            // The server says which inputs take pictures (declared in the sidecar or implied).
            if (model.image_inputs && model.image_inputs[inputs[0].name]) return "image";
            return "other";
          }

          function featureNames(model) {
            const width = model.inputs[0].shape[1];
            if (model.feature_names && model.feature_names.length === width) return model.feature_names;
            return Array.from({ length: width }, (_, index) => `feature ${index}`);
          }

          function classCount(model, outputName) {
            const output = (model.outputs || []).find((o) => o.name === outputName) || (model.outputs || [])[0];
            if (!output) return 0;
            const rest = output.shape.slice(1);
            return rest.every((d) => typeof d === "number") ? rest.reduce((a, b) => a * b, 1) : 0;
          }

          async function chooseModel(name) {
            showError(null);
            $("result").replaceChildren();
            $("curl-box").hidden = true;
            state.model = null;
            state.imageInstance = null;
            delete document.body.dataset.model;
            $("explain").disabled = true;
            $("method").disabled = true;
            $("tabular-inputs").hidden = true;
            $("image-inputs").hidden = true;
            if (!name) { setStatus("Choose a model to begin."); return; }
            setStatus(`Loading ${name}…`, true);
            let model;
            try {
              model = await api(`/v1/models/${encodeURIComponent(name)}`);
            } catch (error) {
              setStatus("The model could not be loaded.");
              showError(error);
              return;
            }
            if ($("model").value !== name) return;
            state.model = model;
            const kind = inputKind(model);
            const shapes = model.inputs.map((i) => `${i.name} [${i.shape.join(", ")}]`).join("; ");
            $("model-info").textContent = [model.description, `Inputs: ${shapes}.`].filter(Boolean).join(" ");

            const methods = (model.methods || []).filter((m) => m !== "slic" || kind === "image");
            $("method").replaceChildren(...methods.map((m) => el("option", { value: m, text: m })));
            const preferred = kind === "image" ? "grad_cam" : "integrated_gradients";
            if (methods.includes(preferred)) $("method").value = preferred;
            $("method").disabled = methods.length === 0;
            chooseMethod();

            const outputs = model.outputs || [];
            $("output").replaceChildren(el("option", { value: "", text: `${outputs[0] ? outputs[0].name : "first"} (default)` }),
              ...outputs.slice(1).map((o) => el("option", { value: o.name, text: o.name })));
            $("output-field").hidden = outputs.length < 2;
            fillTargets();

            $("image-render").hidden = kind !== "image";
            $("tabular-render").hidden = kind !== "tabular";
            if (kind === "tabular") buildFeatureFields(model);
            if (kind === "image") prepareImage(model);
            $("explain").disabled = methods.length === 0 || kind === "other";
            document.body.dataset.model = name;
            setStatus(kind === "other"
              ? `${name} has an input layout this page does not offer a form for; use the API.`
              : `${name} is ready: ${kind === "image" ? "choose an image" : "adjust the instance"}, then Explain.`);
          }

          function fillTargets() {
            const model = state.model;
            const count = classCount(model, $("output").value);
            const names = model.class_names && model.class_names.length === count ? model.class_names : null;
            const options = [el("option", { value: "", text: "The predicted class" })];
            if (count > 0 && count <= 1000) {
              for (let index = 0; index < count; index++) {
                options.push(el("option", { value: String(index), text: names ? `${names[index]} (${index})` : `class ${index}` }));
              }
            }
            $("target").replaceChildren(...options);
          }

          function buildFeatureFields(model) {
            const names = featureNames(model);
            const example = Array.isArray(model.example) ? model.example : null;
            const ranges = model.feature_ranges || [];
            const fields = names.map((name, index) => {
              const id = `feature-${index}`;
              const range = ranges[index];
              const value = example && typeof example[index] === "number" ? example[index] : "";
              const hintId = `${id}-hint`;
              const input = el("input", {
                type: "number", id, step: "any", inputmode: "decimal", value: String(value), "data-index": String(index),
                min: range && range[0] !== null ? String(range[0]) : undefined,
                max: range && range[1] !== null ? String(range[1]) : undefined,
                "aria-describedby": range ? hintId : undefined,
              });
              input.dataset.initial = String(value);
              return el("div", { class: "field" },
                el("label", { for: id, text: name }),
                input,
                range ? el("p", { class: "hint", id: hintId, text: `${format(range[0])} to ${format(range[1])}` }) : null);
            });
            $("features").replaceChildren(...fields);
            $("reset-example").hidden = !example;
            $("tabular-inputs").hidden = false;
          }

          function tabularInstance() {
            const values = [];
            for (const input of $("features").querySelectorAll("input")) {
              const label = document.querySelector(`label[for="${input.id}"]`).textContent;
              if (input.value.trim() === "" || !Number.isFinite(Number(input.value))) {
                input.setAttribute("aria-invalid", "true");
                input.focus();
                throw new ApiError(0, "The instance is incomplete", `Give '${label}' a number.`);
              }
              input.removeAttribute("aria-invalid");
              values.push(Number(input.value));
            }
            return values;
          }

          // ---- images -------------------------------------------------------------------------

          function prepareImage(model) {
            $("image-inputs").hidden = false;
            $("image-file").value = "";
            $("image-preview").hidden = true;
            $("image-name").textContent = "No image chosen yet.";
            $("use-example").hidden = !Array.isArray(model.example);
          }

          function readImageFile(file) {
            if (!file) return;
            if (file.type && !["image/png", "image/jpeg"].includes(file.type)) {
              showError(new ApiError(0, "Not a PNG or JPEG", `${file.name} is ${file.type}; choose a PNG or JPEG file.`));
              return;
            }
            const reader = new FileReader();
            reader.onload = () => {
              const url = String(reader.result);
              const base64 = url.slice(url.indexOf(",") + 1);
              state.imageInstance = { image: base64 };
              state.imageLabel = file.name;
              $("image-preview").src = url;
              $("image-preview").alt = `The chosen image, ${file.name}`;
              $("image-preview").hidden = false;
              $("image-name").textContent = `${file.name} (${Math.round(file.size / 102.4) / 10} KiB)`;
              showError(null);
              setStatus(`${file.name} is ready; press Explain.`);
            };
            reader.onerror = () => showError(new ApiError(0, "The file could not be read", String(reader.error)));
            reader.readAsDataURL(file);
          }

          /// Draws an instance of an image input as a PNG data URL, taking its values back
          /// through the input's preprocessing (layout, mean and std, scale, channel order).
          function instanceToDataURL(instance, preprocessing) {
            const nchw = preprocessing.layout === "nchw";
            const channels = nchw ? instance.length : instance[0][0].length;
            const height = nchw ? instance[0].length : instance.length;
            const width = nchw ? instance[0][0].length : instance[0].length;
            const value = (c, y, x) => {
              let v = nchw ? instance[c][y][x] : instance[y][x][c];
              if (preprocessing.std) v *= preprocessing.std[c];
              if (preprocessing.mean) v += preprocessing.mean[c];
              return v * preprocessing.scale;
            };
            const canvas = document.createElement("canvas");
            canvas.width = width;
            canvas.height = height;
            const context = canvas.getContext("2d");
            const image = context.createImageData(width, height);
            for (let y = 0; y < height; y++) {
              for (let x = 0; x < width; x++) {
                const offset = 4 * (y * width + x);
                for (let c = 0; c < 3; c++) {
                  const channel = preprocessing.channels === "bgr" ? 2 - c : Math.min(c, channels - 1);
                  image.data[offset + c] = Math.max(0, Math.min(255, Math.round(value(channel, y, x))));
                }
                image.data[offset + 3] = 255;
              }
            }
            context.putImageData(image, 0, 0);
            return canvas.toDataURL("image/png");
          }

          function useExampleImage() {
            const model = state.model;
            if (!model || !Array.isArray(model.example)) return;
            state.imageInstance = model.example;
            state.imageLabel = "the model's example";
            $("image-file").value = "";
            try {
              $("image-preview").src = instanceToDataURL(model.example, model.image_inputs[model.inputs[0].name]);
              $("image-preview").alt = "The model's example image";
              $("image-preview").hidden = false;
            } catch (_) {
              $("image-preview").hidden = true;
            }
            $("image-name").textContent = "The model's example image (its first background instance).";
            setStatus("The example image is ready; press Explain.");
          }

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
            if ($("render-on").checked) {
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
            if (metrics.length) body.evaluate = metrics;
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

          // ---- the answer -----------------------------------------------------------------------

          const shown = new Set(["attributions", "attributions_stderr", "output", "target", "target_name", "image", "quality", "rules",
            "counterfactuals", "perturbed", "instance"]);

          function className(model, index) {
            return model.class_names && model.class_names[index] !== undefined ? model.class_names[index] : `class ${index}`;
          }

          function table(caption, headers, rows, numeric) {
            const isNumeric = (i) => !!(numeric && numeric[i]);
            const head = el("tr", {}, headers.map((h, i) => el("th", { scope: "col", class: isNumeric(i) ? "num" : undefined, text: h })));
            const body = rows.map((row) => {
              const tr = el("tr", { class: row.chosen ? "chosen" : undefined });
              row.cells.forEach((cell, i) => {
                const isNode = !!(cell && cell.nodeType);
                tr.append(el("td", { class: isNumeric(i) ? "num" : (isNode ? "bar-cell" : undefined) }, isNode ? cell : format(cell)));
              });
              return tr;
            });
            return el("div", { class: "table-wrap" },
              el("table", {}, el("caption", { text: caption }), el("thead", {}, head), el("tbody", {}, body)));
          }

          function bar(value, scale) {
            const span = el("span", { class: value >= 0 ? "pos" : "neg" });
            span.style.width = `${scale > 0 ? Math.min(50, 50 * Math.abs(value) / scale) : 0}%`;
            const label = `${value >= 0 ? "positive" : "negative"}, ${format(value)}`;
            return el("div", { class: "bar", role: "img", "aria-label": label }, span);
          }

          function showResult(model, body, answer, original) {
            const result = $("result");
            result.replaceChildren();
            const explanations = (answer && answer.explanations) || [];
            const first = explanations[0];
            if (!first) { setStatus("The server answered without an explanation."); return; }
            const kind = inputKind(model);
            const targetName = first.target_name !== undefined
              ? first.target_name
              : (first.target !== undefined ? className(model, first.target) : null);
            const predicted = Array.isArray(first.output) ? first.output.indexOf(Math.max(...first.output)) : null;

            const sentence = [];
            if (predicted !== null && predicted >= 0) sentence.push(`the model predicts ${className(model, predicted)}`);
            if (targetName !== null) sentence.push(`the explanation is for ${targetName}`);
            const prediction = el("dl", { class: "facts prediction", id: "prediction" });
            if (predicted !== null && predicted >= 0) {
              prediction.append(el("dt", { text: "Prediction" }), el("dd", { text: className(model, predicted) }));
            }
            if (targetName !== null) prediction.append(el("dt", { text: "Explained class" }), el("dd", { text: targetName }));
            prediction.append(el("dt", { text: "Method" }), el("dd", { text: answer.method }));
            result.append(prediction);

            if (Array.isArray(first.output)) {
              const outputName = body.output || (model.outputs[0] && model.outputs[0].name) || "first output";
              const rows = first.output.map((value, index) => ({
                cells: [className(model, index), value], chosen: index === first.target,
              }));
              result.append(table(`Output (${outputName})`, ["class", "value"], rows, [false, true]));
            }

            if (typeof first.image === "string" && first.image.startsWith("data:image/svg+xml")) {
              const description = `Bar chart of the ${answer.method} attributions for ${targetName}`;
              result.append(el("figure", { class: "picture", id: "picture" },
                el("img", { src: first.image, alt: description, class: "chart" }), el("figcaption", { text: description })));
            } else if (typeof first.image === "string" && first.image.startsWith("data:image/")) {
              const renderKind = (body.render && body.render.kind) || "picture";
              const named = renderKind.replace(/_/g, " ");
              const description = `${named[0].toUpperCase()}${named.slice(1)} of the ${answer.method} attributions for ${targetName}`;
              const figures = [el("figure", { class: "picture", id: "picture" },
                el("img", { src: first.image, alt: description, class: "image-explanation" }), el("figcaption", { text: description }))];
              if (original && renderKind !== "original_image") {
                const caption = `The image explained${original.label ? `, ${original.label}` : ""}`;
                figures.unshift(el("figure", { class: "picture", id: "picture-original" },
                  el("img", { src: original.src, alt: caption, class: "image-explanation" }), el("figcaption", { text: caption })));
              }
              result.append(el("div", { class: "pictures" }, figures));
            }

            if (kind === "tabular" && Array.isArray(first.attributions) && first.attributions.every((v) => typeof v === "number")) {
              const names = featureNames(model);
              const values = body.inputs[0];
              const stderr = Array.isArray(first.attributions_stderr) ? first.attributions_stderr : null;
              const scale = Math.max(...first.attributions.map((v, i) => Math.abs(v) + (stderr ? 1.96 * stderr[i] : 0)));
              const headers = ["feature", "value", "attribution"].concat(stderr ? ["± 1.96 s.e."] : [], [""]);
              const rows = first.attributions.map((value, index) => ({
                cells: [names[index], values[index], value].concat(stderr ? [1.96 * stderr[index]] : [], [bar(value, scale)]),
              }));
              result.append(table("Attributions", headers, rows, [false, true, true, true, false].slice(0, headers.length)));
            } else if (Array.isArray(first.attributions_stderr)) {
              const text = "The method also returned each attribution's standard error (attributions_stderr).";
              result.append(el("p", { class: "hint", text }));
            }

            if (first.quality && typeof first.quality === "object") {
              const rows = Object.entries(first.quality).map(([name, q]) => ({
                cells: [name, q && typeof q.value === "number" ? q.value : JSON.stringify(q && q.value !== undefined ? q.value : q)],
              }));
              result.append(table("Quality", ["metric", "value"], rows, [false, true]));
            }

            if (Array.isArray(first.rules) && first.rules.length) {
              const preferred = ["rule", "feature", "weight", "lower", "upper"];
              const keys = [...new Set(first.rules.flatMap((r) => Object.keys(r)))].sort((a, b) =>
                (preferred.indexOf(a) + 1 || 99) - (preferred.indexOf(b) + 1 || 99));
              const rows = first.rules.map((r) => ({ cells: keys.map((k) => r[k] === undefined ? "" : r[k]) }));
              result.append(table(answer.method === "anchors" ? "Anchor (all rules hold)" : "Rules", keys, rows,
                keys.map((k) => ["weight", "lower", "upper"].includes(k))));
            }

            if (Array.isArray(first.counterfactuals)) {
              if (first.counterfactuals.length === 0) result.append(el("p", { text: "No counterfactual was found." }));
              first.counterfactuals.forEach((cf, number) => {
                const changes = Array.isArray(cf.changes) ? cf.changes : [];
                const outcome = cf.prediction !== undefined ? ` → ${className(model, cf.prediction)}` : "";
                const rows = changes.map((c) => ({ cells: [c.feature, c.from, c.to] }));
                const distance = cf.distance !== undefined ? `, distance ${format(cf.distance)}` : "";
                result.append(table(`Counterfactual ${number + 1}${outcome}${distance}`, ["feature", "from", "to"],
                  rows.length ? rows : [{ cells: ["(no change)", "", ""] }], [false, true, true]));
              });
            }

            const facts = Object.entries(first).filter(([key, value]) => !shown.has(key) && value !== null && typeof value !== "object");
            const structured = Object.entries(first).filter(([key, value]) =>
              !shown.has(key) && value !== null && typeof value === "object" && JSON.stringify(value).length <= 400);
            if (facts.length || structured.length) {
              const list = el("dl", { class: "facts" });
              for (const [key, value] of facts) list.append(el("dt", { text: key }), el("dd", { text: format(value) }));
              for (const [key, value] of structured) list.append(el("dt", { text: key }), el("dd", { text: JSON.stringify(value) }));
              result.append(el("h3", { text: "Details" }), list);
            }
            if (answer.params && Object.keys(answer.params).length) {
              const text = JSON.stringify(answer.params);
              const shortened = text.length > 600 ? text.slice(0, 600) + "…" : text;
              result.append(el("p", { class: "hint", text: `Effective parameters: ${shortened}` }));
            }
            setStatus(`Explained with ${answer.method}: ${sentence.join("; ")}.`);
          }

          async function copyCurl() {
            const text = $("curl").textContent;
            try {
              await navigator.clipboard.writeText(text);
              $("copy-status").textContent = "Copied.";
            } catch (_) {
              const range = document.createRange();
              range.selectNodeContents($("curl"));
              const selection = getSelection();
              selection.removeAllRanges();
              selection.addRange(range);
              $("copy-status").textContent = "Selected: press Ctrl+C (⌘C) to copy.";
            }
          }

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
