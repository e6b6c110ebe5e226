// Small JSON state files (topics, consumer offsets, delay offsets, DLedger term) replaced so a
// power cut leaves the old or the new content, never an empty file: write a temporary file,
// fsync it, rename it over the old one, fsync the directory. RocketMQ's MixAll.string2File
// renames without fsync; on ext4 mounted noauto_da_alloc (or other file systems) a power cut
// then leaves a zero-length file — bench verify's power cuts found exactly that.
import fs from 'node:fs';
import path from 'node:path';

export function writeFileDurably(filePath: string, content: string | Buffer): void {
  const dir = path.dirname(filePath);
  fs.mkdirSync(dir, { recursive: true });
  const tmp = `${filePath}.tmp`;
  const fd = fs.openSync(tmp, 'w');
  try {
    fs.writeFileSync(fd, content);
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
  fs.renameSync(tmp, filePath);
  const dirFd = fs.openSync(dir, 'r');
  try {
    fs.fsyncSync(dirFd);
  } finally {
    fs.closeSync(dirFd);
  }
}
