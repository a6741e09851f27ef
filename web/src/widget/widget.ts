// Entry of dist/widget.js. document.currentScript is set while a classic script (async
// included) first runs, which is how the loader finds the service's origin and options.
import { installWidget } from './loader';

const current = document.currentScript;
if (current instanceof HTMLScriptElement && current.src) installWidget(current);
