// Loads the WASM app. A file of its own, not an inline script, so the
// content security policy can forbid inline script altogether.
// Relative: build.sh serves it from /static/<content hash>/ with the app.
import init from './pkg/pmoc_frontend.js';
init();
