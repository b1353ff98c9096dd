// Local image building and loading for kite's node runtime (no registry, no docker).
export { buildPauseImage, compilePause, pauseBuildInputs, PAUSE_IMAGE, PAUSE_C_SOURCE, type BuiltImage, type BuildPauseOptions } from './pause.js';
export { buildBusyboxImage, busyboxBuildInputs, findStaticBusybox, busyboxApplets, BUSYBOX_IMAGE, type BuildBusyboxOptions } from './busybox.js';
export { importImage, listImageNames, CRI_NAMESPACE, type ImportOptions, type ImportResult } from './import.js';
export { buildDockerArchive, imageArch, sha256, IMAGE_EPOCH, type DockerArchiveSpec, type ImageRunConfig } from './archive.js';
export { writeTar, readTar, type TarEntry, type ReadTarEntry } from './tar.js';
export { isStaticElf, isStaticElfFile } from './elf.js';
export { cachedArchivePath, imageCacheDir } from './cache.js';
