// The ipywidgets HTML manager typesets widget labels with MathJax 2's API,
// MathJax.Hub.Queue(["Typeset", MathJax.Hub, element]); the book loads MathJax 3, which has no
// Hub, so every page with an explorer logged a TypeError. Give whatever object window.MathJax
// holds (the configuration first, MathJax 3 once it has loaded) a Hub whose Queue typesets the
// element with MathJax 3, or does nothing while MathJax is still loading.
(function () {
  "use strict";
  const hub = {
    Queue(job) {
      const mathjax = window.MathJax;
      const element = Array.isArray(job) ? job[2] : undefined;
      if (mathjax && typeof mathjax.typesetPromise === "function" && element) {
        mathjax.typesetPromise([element]).catch(() => {});
      }
    },
  };
  const withHub = (value) => {
    if (value && typeof value === "object" && !value.Hub) {
      Object.defineProperty(value, "Hub", { value: hub, configurable: true });
    }
    return value;
  };
  let current = withHub(window.MathJax);
  Object.defineProperty(window, "MathJax", {
    configurable: true,
    get: () => current,
    set: (value) => { current = withHub(value); },
  });
})();
