// Copies the browser files the built book needs out of node_modules into public/vendor/,
// which _config.yml hands to Sphinx as html_extra_path (copied to the site's root as vendor/).
// Not under _static/: Jupyter Book 1 would add every .js found there to every page.
import { cpSync, mkdirSync, rmSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));
const modules = join(here, "node_modules");
const out = join(here, "public", "vendor");

const files = [
  // MathJax 3: the combined TeX/MathML -> CommonHTML file, plus what it loads on demand
  // (fonts, TeX extensions, the menu, accessibility and speech).
  ["mathjax/es5/tex-mml-chtml.js", "mathjax/tex-mml-chtml.js"],
  ["mathjax/es5/input", "mathjax/input"],
  ["mathjax/es5/output", "mathjax/output"],
  ["mathjax/es5/ui", "mathjax/ui"],
  ["mathjax/es5/a11y", "mathjax/a11y"],
  ["mathjax/es5/sre", "mathjax/sre"],
  ["mathjax/LICENSE", "mathjax/LICENSE"],
  ["requirejs/require.js", "require.js"],
  ["../require-config.js", "require-config.js"],
  ["../fontawesome-config.js", "fontawesome-config.js"],
  // The ipywidgets HTML manager: embed-amd.js bundles the core widgets; webpack loads its
  // Font Awesome files from the script's own folder.
  ["@jupyter-widgets/html-manager/dist", "html-manager"],
];

rmSync(out, { recursive: true, force: true });
for (const [from, to] of files) {
  mkdirSync(dirname(join(out, to)), { recursive: true });
  cpSync(join(modules, from), join(out, to), {
    recursive: true,
    filter: (src) => !src.endsWith(".map") && !/[/\\](embed|libembed-amd)\.js$/.test(src),
  });
}
console.log(`vendored files in ${out}`);
