// Copy buttons for citations, and a label for the SQL editor's own text box (CodeMirror 5.57 leaves it unnamed).
// A module: runs after the page is parsed; served from this origin, as the Content-Security-Policy requires.
for (const button of document.querySelectorAll("button.nk-copy[data-copy]")) {
  button.hidden = false;
  button.addEventListener("click", async () => {
    const text = document.getElementById(button.dataset.copy).textContent;
    const label = button.textContent;
    try {
      await navigator.clipboard.writeText(text);
      button.textContent = "Copied";
    } catch (e) {
      const range = document.createRange();
      range.selectNodeContents(document.getElementById(button.dataset.copy));
      getSelection().removeAllRanges();
      getSelection().addRange(range);
      button.textContent = "Selected: press Ctrl+C";
    }
    setTimeout(() => { button.textContent = label; }, 2000);
  });
}

window.addEventListener("load", () => setTimeout(() => {
  for (const box of document.querySelectorAll(".CodeMirror textarea:not([aria-label])")) {
    box.setAttribute("aria-label", "SQL query");
  }
}, 0));
