// The live text area's side of Streamlit's component protocol (API version 1), by hand: no npm,
// no build step. The page says it is ready; Streamlit sends "streamlit:render" with the args on
// every rerun; the page answers with its height and, as the user types, its text.
"use strict";

(function () {
  // wait this long after the last keystroke before reporting (each report reruns the script)
  const DEBOUNCE_MS = 300;

  const root = document.getElementById("root");
  const label = document.getElementById("label");
  const box = document.getElementById("box");

  // the version of the text the app last put into the box; null until the first render
  let version = null;
  let height = null;
  let composing = false;
  let timer = null;
  let lastSent = null;

  function post(type, data) {
    window.parent.postMessage(Object.assign({ isStreamlitMessage: true, type: type }, data), "*");
  }

  // Report the text with the version it was typed over, so that Python can drop a report that
  // an app-side replacement has overtaken. Never while an IME composition is open: its pinyin
  // is not text yet.
  function send() {
    clearTimeout(timer);
    timer = null;
    if (composing || version === null || box.value === lastSent) {
      return;
    }
    lastSent = box.value;
    post("streamlit:setComponentValue", {
      value: { text: box.value, version: version },
      dataType: "json",
    });
  }

  function schedule() {
    clearTimeout(timer);
    timer = setTimeout(send, DEBOUNCE_MS);
  }

  function reportHeight() {
    post("streamlit:setFrameHeight", { height: Math.ceil(root.getBoundingClientRect().height) });
  }

  function applyTheme(theme) {
    if (!theme) {
      return;
    }
    const style = document.documentElement.style;
    if (theme.textColor) style.setProperty("--text", theme.textColor);
    if (theme.secondaryBackgroundColor) style.setProperty("--field", theme.secondaryBackgroundColor);
    if (theme.primaryColor) style.setProperty("--primary", theme.primaryColor);
    if (theme.font) style.setProperty("--font", theme.font);
  }

  function render(data) {
    const args = data.args || {};
    label.textContent = args.label || "";
    box.placeholder = args.placeholder || "";
    box.disabled = Boolean(data.disabled);
    if (args.height !== height) {
      // only when the app changes it: a height the user dragged survives reruns
      height = args.height;
      box.style.height = height + "px";
    }
    if (args.version !== version) {
      // the app put a text into the box (the first render, a suggested reply, a rewording):
      // it replaces what is there, and pending keystrokes are dropped with it
      version = args.version;
      clearTimeout(timer);
      timer = null;
      box.value = args.value || "";
      lastSent = box.value;
    }
    applyTheme(data.theme);
    reportHeight();
  }

  box.addEventListener("compositionstart", function () {
    composing = true;
    clearTimeout(timer);
  });
  box.addEventListener("compositionend", function () {
    composing = false;
    schedule();
  });
  box.addEventListener("input", function (event) {
    if (event.isComposing || composing) {
      return; // compositionend reports the committed text
    }
    schedule();
  });
  box.addEventListener("blur", send);
  box.addEventListener("keydown", function (event) {
    if (event.key === "Enter" && (event.ctrlKey || event.metaKey)) {
      send(); // as Streamlit's own text area: Ctrl+Enter reports at once
    }
  });

  window.addEventListener("message", function (event) {
    if (event.source !== window.parent) {
      return; // only Streamlit, the page that holds this frame, renders it
    }
    if (event.data && event.data.type === "streamlit:render") {
      render(event.data);
    }
  });
  new ResizeObserver(reportHeight).observe(root);

  post("streamlit:componentReady", { apiVersion: 1 });
})();
