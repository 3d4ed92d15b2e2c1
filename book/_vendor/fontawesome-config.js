// Loaded before the ipywidgets HTML manager (see _config.yml). The book theme's Font Awesome
// replaces every <i class="fa ..."> it sees with an SVG; the widgets' Play button keeps its
// <i> element and breaks when it is replaced. Stop Font Awesome from watching the page: the
// theme's own icons are in the HTML when Font Awesome starts, so they are still drawn.
window.FontAwesomeConfig = Object.assign(window.FontAwesomeConfig || {}, {
  observeMutations: false,
});
