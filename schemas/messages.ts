/**
 * The WebSocket protocol: the command table, the event table and the server frames. Every
 * TypeScript type of a message is derived from its schema; nothing else defines them.
 */
export * from './commands.js'
export * from './events.js'
export * from './frames.js'
