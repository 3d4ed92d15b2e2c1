// Loaded between require.js and the ipywidgets HTML manager (see _config.yml). The manager's
// bundled modules find their fonts next to their require.js address, which by default is the
// page's own folder; point every @jupyter-widgets module at the folder the manager is served from.
(function () {
  var manager = document.currentScript.src.replace(/[^/]*$/, "") + "html-manager";
  window.requirejs.config({
    paths: {
      "@jupyter-widgets": manager,
      "@jupyter-widgets/html-manager/dist": manager,
    },
  });
})();
