// Kept for the stack commands (`demo`), which render events from here.
export { renderEvent, EventRenderer } from './render/events.js';
