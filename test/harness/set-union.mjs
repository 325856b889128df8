// Set.prototype.union (ES2025) for Node.js 20, preloaded with `node --import`
// only where test/unit/ci-config.test.ts runs gitlab-ci-local: that tool's
// bundle calls it at load time, and Node.js has it from version 22 on.
// tskernel itself supports Node.js 20 (package.json "engines").  The union of
// two sets: every element of this set, then those of the other not yet in it.
if (typeof Set.prototype.union !== 'function') {
  Object.defineProperty(Set.prototype, 'union', {
    value: function union(other) {
      const out = new Set(this);
      for (const x of other.keys()) out.add(x);
      return out;
    },
    writable: true,
    configurable: true,
  });
}
