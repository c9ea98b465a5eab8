/// The web page's style sheet (`/ui/app.css`): one column on a phone, form and result side
/// by side from 960 px; text and controls at WCAG AA contrast or better, a visible focus ring.
enum PageStyle {
    static let text = #"""
        :root {
          --ink: #1b1f24; --muted: #4a5361; --line: #c5ccd6; --paper: #ffffff; --wash: #f3f5f8;
          --accent: #0b4f8a; --accent-ink: #ffffff; --focus: #b34700; --bad: #a4161a; --bad-wash: #fdecec;
          --good: #1b6e3a; --positive: #b3261e; --negative: #1f5fa8;
          color-scheme: light;
        }
        * { box-sizing: border-box; }
        html { font-size: 100%; }
        body {
          margin: 0; background: var(--wash); color: var(--ink);
          font: 1rem/1.5 system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif;
        }
        .visually-hidden { position: absolute; width: 1px; height: 1px; overflow: hidden; clip-path: inset(50%); white-space: nowrap; }
        .skip { position: absolute; left: -999px; top: 0; background: var(--paper); padding: .5rem 1rem; z-index: 10; }
        .skip:focus { left: .5rem; top: .5rem; }
        .top { padding: 1rem 1.25rem .25rem; }
        .top h1 { margin: 0; font-size: 1.6rem; }
        .top p { margin: .25rem 0 0; color: var(--muted); }
        main { display: grid; gap: 1rem; padding: 1rem 1.25rem 2rem; grid-template-columns: 1fr; }
        main:focus { outline: none; }
        @media (min-width: 960px) {
          main { grid-template-columns: minmax(380px, 5fr) 6fr; align-items: start; }
        }
        .panel { background: var(--paper); border: 1px solid var(--line); border-radius: 8px; padding: 1rem 1.25rem; min-width: 0; }
        .panel h2 { margin: 0 0 .75rem; font-size: 1.2rem; }
        h3 { font-size: 1.05rem; margin: 1.25rem 0 .5rem; }
        .field { display: flex; flex-direction: column; gap: .25rem; margin: 0 0 .75rem; min-width: 0; }
        .field.check { flex-direction: row; align-items: center; gap: .5rem; }
        .row { display: grid; grid-template-columns: repeat(auto-fit, minmax(160px, 1fr)); gap: 0 1rem; }
        .grid { display: grid; grid-template-columns: repeat(auto-fill, minmax(170px, 1fr)); gap: 0 1rem; }
        label { font-weight: 600; }
        .hint { color: var(--muted); font-size: .875rem; margin: 0; font-weight: 400; }
        select, input[type=number], input[type=text], textarea {
          font: inherit; color: var(--ink); background: var(--paper); border: 1px solid #7a8594; border-radius: 4px;
          padding: .45rem .5rem; min-height: 2.5rem; width: 100%;
        }
        input[type=checkbox] { width: 1.15rem; height: 1.15rem; accent-color: var(--accent); }
        input[type=file] { font: inherit; max-width: 100%; }
        fieldset { border: 1px solid var(--line); border-radius: 6px; margin: 0 0 1rem; padding: .5rem 1rem .75rem; min-width: 0; }
        legend { font-weight: 700; padding: 0 .25rem; }
        details { margin: 0 0 1rem; border: 1px solid var(--line); border-radius: 6px; padding: .5rem 1rem; }
        details[open] summary { margin-bottom: .5rem; }
        summary { cursor: pointer; font-weight: 600; }
        .checks { display: flex; flex-wrap: wrap; gap: .25rem 1.25rem; }
        .checks .field { margin: 0; }
        .checks label { font-weight: 400; }
        button {
          font: inherit; font-weight: 600; cursor: pointer; border-radius: 4px; min-height: 2.5rem; padding: .45rem 1.1rem;
          border: 2px solid var(--accent); background: var(--accent); color: var(--accent-ink);
        }
        button.secondary { background: var(--paper); color: var(--accent); }
        button:disabled { cursor: not-allowed; background: #d5dae1; border-color: #d5dae1; color: #3d4551; }
        .actions { display: flex; gap: .75rem; align-items: center; }
        :focus-visible { outline: 3px solid var(--focus); outline-offset: 2px; }
        .drop-zone { border: 2px dashed #7a8594; border-radius: 8px; padding: .75rem 1rem; margin-bottom: .75rem; }
        .drop-zone p { margin: 0 0 .5rem; }
        .drop-zone.dragging { border-color: var(--accent); background: #e7f0fa; }
        .preview { display: flex; gap: 1rem; align-items: center; }
        .preview img, .picture img { image-rendering: pixelated; border: 1px solid var(--line); background: var(--paper); }
        .preview img { width: 96px; height: 96px; object-fit: contain; }
        .status { font-weight: 600; min-height: 1.5rem; }
        .status.busy::before { content: "⏳ "; }
        .error {
          border: 2px solid var(--bad); background: var(--bad-wash); color: var(--bad); border-radius: 6px;
          padding: .75rem 1rem; margin: .5rem 0;
        }
        .error strong { display: block; }
        .error p { margin: .25rem 0 0; color: var(--ink); }
        .prediction { font-size: 1.1rem; margin: .5rem 0; }
        .picture { margin: .75rem 0; }
        .picture img { max-width: 100%; height: auto; }
        .pictures { display: flex; flex-wrap: wrap; gap: 1rem; margin: .75rem 0; }
        .pictures .picture { flex: 1 1 140px; max-width: 300px; margin: 0; }
        .picture img.image-explanation { width: 100%; aspect-ratio: 1; object-fit: contain; }
        .picture figcaption { color: var(--muted); font-size: .875rem; }
        .table-wrap { overflow-x: auto; max-width: 100%; }
        table { border-collapse: collapse; width: 100%; font-size: .925rem; margin: .25rem 0 .75rem; }
        caption { text-align: left; font-weight: 700; padding: .25rem 0; }
        th, td { text-align: left; padding: .3rem .5rem; border-bottom: 1px solid var(--line); vertical-align: top; }
        td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
        tr.chosen td { font-weight: 700; background: #eef4fb; }
        .bar-cell { min-width: 120px; width: 40%; }
        .bar { position: relative; height: 1rem; background: var(--wash); border-radius: 2px; }
        .bar span { position: absolute; top: 0; bottom: 0; display: block; }
        .bar span.pos { left: 50%; background: var(--positive); }
        .bar span.neg { right: 50%; background: var(--negative); }
        .tokens { line-height: 2; font-size: 1.1rem; }
        .tokens mark { color: #111; background: transparent; padding: 0.1rem 0; border-radius: 2px; }
        .tokens .candor-text-pair { border-top: 1px solid var(--line); padding-top: 0.5rem; }
        .bar::after { content: ""; position: absolute; left: 50%; top: -2px; bottom: -2px; border-left: 1px solid var(--muted); }
        dl.facts { display: grid; grid-template-columns: max-content 1fr; gap: .2rem 1rem; margin: .5rem 0; }
        dl.facts dt { font-weight: 600; }
        dl.facts dd { margin: 0; font-variant-numeric: tabular-nums; overflow-wrap: anywhere; }
        pre#curl {
          background: #111820; color: #e8edf2; padding: .75rem; border-radius: 6px; overflow-x: auto; max-height: 16rem;
          white-space: pre-wrap; word-break: break-all; font-size: .8rem;
        }
        @media (max-width: 480px) {
          .top, main { padding-left: .75rem; padding-right: .75rem; }
          .panel { padding: .75rem; }
          .grid { grid-template-columns: 1fr 1fr; }
        }
        """#
}
