// Entry of the embed bundle: importing it registers every <ds-…> element.
export * from './ds_elements.js';
