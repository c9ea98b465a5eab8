/// The page script's model part: choosing a model, its target classes and outputs, one
/// labelled field per feature (prefilled from the background, with ranges), and the picture
/// of an image model (chosen, dropped, or the model's example). Part of `PageScript`.
enum PageScriptInputs {
    static let text = #"""
          // ---- the model ----------------------------------------------------------------------

          function inputKind(model) {
            // A model whose sidecar names a tokenizer takes text (its inputs are token ids).
            if (model.text) return "text";
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
            $("text-inputs").hidden = true;
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
            const preferred = { image: "grad_cam", text: "layer_integrated_gradients" }[kind] || "integrated_gradients";
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
            // The server draws no pictures of text and judges no text explanations yet.
            $("render-box").hidden = kind === "text";
            $("metrics-box").hidden = kind === "text";
            $("text-inputs").hidden = kind !== "text";
            if (kind === "tabular") buildFeatureFields(model);
            if (kind === "image") prepareImage(model);
            $("explain").disabled = methods.length === 0 || kind === "other";
            document.body.dataset.model = name;
            setStatus(kind === "other"
              ? `${name} has an input layout this page does not offer a form for; use the API.`
              : `${name} is ready: ${{ image: "choose an image", text: "write a text" }[kind] || "adjust the instance"}, then Explain.`);
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

        """#
}
