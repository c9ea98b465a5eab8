/// The web page's markup (`GET /`, `GET /ui`): the controls, the result area and nothing
/// inline — its behaviour is `/ui/app.js` and its looks `/ui/app.css`, so the
/// Content-Security-Policy can forbid inline script and style.
enum PageHTML {
    static let text = #"""
        <!doctype html>
        <html lang="en">
        <head>
        <meta charset="utf-8">
        <meta name="viewport" content="width=device-width, initial-scale=1">
        <title>Candor — explain a prediction</title>
        <link rel="icon" href="data:,">
        <link rel="stylesheet" href="/ui/app.css">
        <script src="/ui/app.js" defer></script>
        </head>
        <body>
        <a class="skip" href="#main">Skip to the form</a>
        <header class="top">
          <h1>Candor</h1>
          <p>Pick a model and a method, give an instance, and see why the model predicts what it does.</p>
        </header>
        <main id="main" tabindex="-1">
          <section class="panel" aria-labelledby="setup-title">
            <h2 id="setup-title">Model, method and instance</h2>
            <form id="explain-form" novalidate>
              <div class="field">
                <label for="model">Model</label>
                <select id="model" name="model" aria-describedby="model-info"><option value="">Loading models…</option></select>
                <p id="model-info" class="hint"></p>
              </div>
              <div class="field">
                <label for="method">Method</label>
                <select id="method" name="method" aria-describedby="method-info" disabled></select>
                <p id="method-info" class="hint"></p>
              </div>
              <details id="params-box">
                <summary>Method parameters <span class="hint">(only the ones you change are sent)</span></summary>
                <div id="params" class="grid"></div>
              </details>
              <div class="row">
                <div class="field">
                  <label for="target">Target class</label>
                  <select id="target" name="target"><option value="">The predicted class</option></select>
                </div>
                <div class="field" id="output-field" hidden>
                  <label for="output">Output</label>
                  <select id="output" name="output"></select>
                </div>
              </div>
              <fieldset id="tabular-inputs" hidden>
                <legend>Instance</legend>
                <p class="hint">Prefilled from the model's first background row; under each field, its range over the
                  background.</p>
                <div id="features" class="grid"></div>
                <button type="button" id="reset-example" class="secondary">Reset to the example</button>
              </fieldset>
              <fieldset id="text-inputs" hidden>
                <legend>Text</legend>
                <label for="text-input">The text to explain</label>
                <textarea id="text-input" name="text" rows="3">The headphones are great but the battery is terrible</textarea>
              </fieldset>
              <fieldset id="image-inputs" hidden>
                <legend>Image</legend>
                <div id="drop-zone" class="drop-zone">
                  <p>Drop an image file here, or choose one:</p>
                  <label for="image-file">Image file</label>
                  <input type="file" id="image-file" name="image" accept="image/png,image/jpeg">
                </div>
                <button type="button" id="use-example" class="secondary" hidden>Use the model's example image</button>
                <div class="preview">
                  <img id="image-preview" alt="" hidden>
                  <p id="image-name" class="hint">No image chosen yet.</p>
                </div>
              </fieldset>
              <fieldset id="render-box">
                <legend>Picture</legend>
                <div class="field check">
                  <input type="checkbox" id="render-on" checked>
                  <label for="render-on">Ask the server to draw the explanation</label>
                </div>
                <div id="image-render" class="grid" hidden>
                  <div class="field">
                    <label for="render-kind">Kind</label>
                    <select id="render-kind">
                      <option value="blended_heat_map" selected>blended heat map</option>
                      <option value="heat_map">heat map</option>
                      <option value="masked_image">masked image</option>
                      <option value="alpha_scaling">alpha scaling</option>
                      <option value="original_image">original image</option>
                    </select>
                  </div>
                  <div class="field">
                    <label for="render-sign">Sign</label>
                    <select id="render-sign">
                      <option value="absolute_value" selected>absolute value</option>
                      <option value="all">all</option>
                      <option value="positive">positive</option>
                      <option value="negative">negative</option>
                    </select>
                  </div>
                  <div class="field">
                    <label for="render-outlier">Outlier percentile</label>
                    <input type="number" id="render-outlier" value="2" min="0" max="100" step="any" inputmode="decimal">
                  </div>
                  <div class="field">
                    <label for="render-alpha">Overlay opacity</label>
                    <input type="number" id="render-alpha" value="0.5" min="0" max="1" step="0.05" inputmode="decimal">
                  </div>
                  <div class="field">
                    <label for="render-colormap">Colour map (optional)</label>
                    <input type="text" id="render-colormap" autocomplete="off" spellcheck="false">
                  </div>
                </div>
                <p id="tabular-render" class="hint" hidden>A bar chart of the attributions, one bar per feature.</p>
              </fieldset>
              <fieldset id="metrics-box">
                <legend>Quality metrics (optional)</legend>
                <div id="metrics" class="checks"></div>
              </fieldset>
              <div class="actions">
                <button type="submit" id="explain" disabled>Explain</button>
              </div>
            </form>
          </section>
          <section class="panel" aria-labelledby="result-title">
            <h2 id="result-title">Result</h2>
            <div id="status" class="status" role="status" aria-live="polite" aria-atomic="true">Choose a model to begin.</div>
            <div id="error" class="error" role="alert" hidden></div>
            <div id="result"></div>
            <div id="curl-box" hidden>
              <h3 id="curl-title">The same request with curl</h3>
              <pre id="curl" tabindex="0" aria-labelledby="curl-title"></pre>
              <button type="button" id="copy-curl" class="secondary">Copy the command</button>
              <span id="copy-status" class="hint" role="status"></span>
            </div>
          </section>
        </main>
        </body>
        </html>
        """#
}
