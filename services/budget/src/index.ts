export { serveBudget } from './endpoints.js';
