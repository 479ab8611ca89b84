export { claim1 } from './claim-1.js';
export { deadLetter2 } from './dead-letter-2.js';
export { type LuaScript, runScript } from './define-script.js';
export { deleteConsumer1 } from './delete-consumer-1.js';
export { groupCreate1 } from './group-create-1.js';
export { groupInfo1 } from './group-info-1.js';
export { promote3 } from './promote-3.js';
export { retry2 } from './retry-2.js';
export { touch1 } from './touch-1.js';
