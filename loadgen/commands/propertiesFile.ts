// Reads a .properties file for a CLI command, with an error that names the file.
import fs from 'node:fs';
import { parse } from 'dot-properties';
import { FlushbenchError } from '../../protocol/errors.js';

export function loadPropertiesFile(filePath: string): Record<string, string> {
  try {
    return parse(fs.readFileSync(filePath, 'utf8')) as Record<string, string>;
  } catch (error) {
    throw new FlushbenchError('CONFIG_UNREADABLE', `cannot read ${filePath}: ${(error as NodeJS.ErrnoException).code ?? String(error)}`);
  }
}
