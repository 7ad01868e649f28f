/** The protocol package: settings model, messages, errors and version, shared by controller and agent. */
export * from './version.js';
export * from './errors.js';
export * from './values.js';
export * from './settings.js';
export * from './observed.js';
export * from './messages.js';
