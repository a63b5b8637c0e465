/** berth's version; `scripts/compile` checks it equals package.json's. */
export const VERSION = "0.1.0";
