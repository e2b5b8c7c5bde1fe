// Loads datasette-vega (about 1 MB) only when a reader asks for a chart, or when the address already
// describes one (#g.… links from the home page). Served by plugins/nk_static.py, which fills in the two
// addresses below with the hashed, compressed copies of datasette-vega's files.
const VEGA_JS = "__VEGA_JS__";
const VEGA_CSS = "__VEGA_CSS__";

function loadVega() {
  return new Promise((resolve, reject) => {
    const style = document.createElement("link");
    style.rel = "stylesheet";
    style.href = VEGA_CSS;
    document.head.appendChild(style);
    // datasette-vega starts itself on DOMContentLoaded, which has long fired when it is loaded on
    // demand: while its script runs, such a listener is called at once instead of being registered.
    const originals = [[document, document.addEventListener], [window, window.addEventListener]];
    for (const [target, original] of originals) {
      target.addEventListener = function (type, listener, options) {
        if (type === "DOMContentLoaded") {
          setTimeout(listener, 0);
          return undefined;
        }
        return original.call(this, type, listener, options);
      };
    }
    const restore = () => originals.forEach(([target, original]) => { target.addEventListener = original; });
    const script = document.createElement("script");
    script.src = VEGA_JS;
    script.onload = () => { restore(); resolve(); };
    script.onerror = () => { restore(); reject(new Error("the chart tool could not be loaded")); };
    document.head.appendChild(script);
  });
}

function whenPresent(selector, then, tries = 40) {
  const found = document.querySelector(selector);
  if (found) then(found);
  else if (tries > 0) setTimeout(() => whenPresent(selector, then, tries - 1), 50);
}

function start() {
  const table = document.querySelector("table.rows-and-columns");
  if (!table || !document.querySelector(".export-links a[href*=json]")) return;
  if (location.hash.startsWith("#g.")) {
    loadVega();
    return;
  }
  const button = document.createElement("button");
  button.type = "button";
  button.className = "nk-chart-button";
  button.textContent = "Chart this data";
  button.addEventListener("click", () => {
    button.disabled = true;
    button.textContent = "Loading the chart tool…";
    loadVega().then(() => {
      button.remove();
      whenPresent(".datasette-vega-inactive button", (open) => open.click());
    }, (error) => {
      button.disabled = false;
      button.textContent = "Chart this data (" + error.message + "; try again)";
    });
  });
  table.parentNode.insertBefore(button, table);
}

start();
