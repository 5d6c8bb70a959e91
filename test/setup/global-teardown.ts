export { tearDown as default } from './run-parts';
