// Build the image once, before any test worker starts, so parallel boot tests
// all boot the same build/tsk.img and read the same build/tsk.map.  Failed
// boots of an earlier run left folders in build/test-artifacts/: they go
// first, so that what is there after this run is this run's.  (Only that
// folder: a TSK_TEST_ARTIFACTS folder belongs to whoever named it.)
import { rm } from 'node:fs/promises';
import path from 'node:path';
import { buildImage } from '../../toolchain/image.ts';
import { ARTIFACTS_DIR } from './ci.ts';

export default async function setup(): Promise<void> {
  await rm(path.resolve(ARTIFACTS_DIR), { recursive: true, force: true });
  await buildImage();
}
