import { cleanup, configure } from '@testing-library/react';
import { afterEach } from 'vitest';

// findBy* and waitFor give up after asyncUtilTimeout. Their default, one second,
// is shorter than a lazily imported page (the Reports page and its charts) takes
// to transform on the first import when the machine is busy: CI saw the Reports
// dialog miss it. A wait that is going to fail still fails, only later.
configure({ asyncUtilTimeout: 5000 });

afterEach(() => {
  cleanup();
  if (typeof localStorage !== 'undefined') localStorage.clear();
});
