export { type LuaScript, runScript, type ScriptRunner } from '@media-cluster/queue';
export { guardedTake2 } from './guarded-take-2.js';
export { take1 } from './take-1.js';
