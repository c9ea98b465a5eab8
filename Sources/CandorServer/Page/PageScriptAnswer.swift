/// The page script's answer part: prediction, picture, attributions with error bars,
/// quality, rules and counterfactual tables. Part of `PageScript`.
enum PageScriptAnswer {
    static let text = #"""
          // ---- the answer -----------------------------------------------------------------------

          const shown = new Set(["attributions", "attributions_stderr", "output", "target", "target_name", "image", "quality", "rules",
            "counterfactuals", "perturbed", "instance", "tokens", "words", "html"]);

          // The server's highlighted text (render on text) rebuilt element by element from its
          // fixed form (a div of paragraphs of text and marks, the text escaped): only those are
          // taken, the text as text, and each mark's colour (an hsl() from its style attribute)
          // set through the CSSOM. Parsing it as HTML would apply the inline styles, which the
          // page's Content-Security-Policy forbids.
          function highlighted(html) {
            const entities = { amp: "&", lt: "<", gt: ">", quot: '"', apos: "'" };
            const decode = (text) => text.replace(/&(amp|lt|gt|quot|apos);/g, (_, name) => entities[name]);
            const passage = el("div", { class: "tokens", id: "tokens" });
            let paragraph = null;
            let mark = null;
            for (const [, closing, tag, attributes, text] of html.matchAll(/<(\/?)(div|p|mark)\b([^>]*)>|([^<]+)/g)) {
              if (text !== undefined) {
                const parent = mark || paragraph;
                if (parent) parent.append(decode(text));
              } else if (tag === "p") {
                paragraph = closing ? null : el("p", { class: (/class="([^"]*)"/.exec(attributes) || [])[1] });
                if (paragraph) passage.append(paragraph);
              } else if (tag === "mark") {
                mark = closing || !paragraph ? null : el("mark", { class: "token", title: decode((/title="([^"]*)"/.exec(attributes) || ["", ""])[1]) });
                const colour = /background-color: (hsl\(\d+, \d+%, \d+%\))/.exec(attributes);
                if (mark && colour) mark.style.backgroundColor = colour[1];
                if (mark) paragraph.append(mark);
              }
            }
            return passage;
          }

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

            const perToken = Array.isArray(first.tokens) && Array.isArray(first.attributions) && first.tokens.length === first.attributions.length;
            const perWord = Array.isArray(first.words) && Array.isArray(first.attributions) && first.words.length === first.attributions.length;
            if (perToken || perWord) {
              // The text as the server highlights it (render on text), then the numbers.
              const unit = perWord ? "word" : "token";
              if (typeof first.html === "string") {
                result.append(el("h3", { text: `The text, each ${unit} shaded by its ${answer.method} attribution to ${targetName}` }),
                  highlighted(first.html));
              }
              const scale = Math.max(...first.attributions.map(Math.abs));
              const rows = perWord
                ? first.words.map((word, index) => ({
                    cells: [word.word, word.offsets.map(([start, end]) => `${start}–${end}`).join(", "), first.attributions[index],
                      bar(first.attributions[index], scale)],
                  }))
                : first.tokens.map((token, index) => ({
                    cells: [token.token, token.start === undefined ? "" : `${token.start}–${token.end}`, first.attributions[index],
                      bar(first.attributions[index], scale)],
                  }));
              result.append(table("Attributions", [unit, "characters", "attribution", ""], rows, [false, false, true, false]));
            } else if (kind === "tabular" && Array.isArray(first.attributions) && first.attributions.every((v) => typeof v === "number")) {
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

        """#
}
