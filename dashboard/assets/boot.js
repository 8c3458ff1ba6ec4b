// Loads the WASM app. A file of its own, not an inline script, so the
// content security policy can forbid inline script altogether.
import init from '/pkg/pmoc_frontend.js';
init();
