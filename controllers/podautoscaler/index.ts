export { HorizontalController, newHorizontalController } from './horizontal.js';
