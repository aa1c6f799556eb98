// The status function's file paths (DESIGN §8): a test's file list, one file's
// bytes (always an attachment, never HTML: they are the code under test's),
// and the last lines of its log, read from the log's end only. A private
// repository's files are shown to status viewers only.
import type { TestRecord } from '../../shared/domain/test';
import type { TestFileStore } from '../../shared/files/port';
import { LOG_FILE } from '../../shared/files/port';
import {
  contentDisposition,
  downloadContentType,
  logTail,
  tailLines,
  tailStart,
} from '../../shared/files/serve';
import { uploadFileName } from '../../shared/files/upload';
import type { Request, Response } from '../../shared/http/function-app';
import { fileUrl } from '../../shared/tests/view';

/** What follows `/tests/{id}` on a file path: `/files`, `/files/<name>` or `/log`. */
export const FILE_PATH = /^\/(?:files(?:\/.+)?|log)$/;

export interface FileRouteDeps {
  files: TestFileStore;
  /** This function's URL, for the files' links. */
  statusUrl: string;
}

const HIDDEN =
  "This test's files are hidden: its repository is private. Status viewers see them with an ID token.";

/** Serves `rest` (a FILE_PATH) of `test`; storage errors throw, and the door answers them. */
export async function serveTestFiles(
  deps: FileRouteDeps,
  test: TestRecord,
  rest: string,
  { req, res, showDetails }: { req: Request; res: Response; showDetails: boolean },
): Promise<void> {
  if (!showDetails) {
    res.status(403).json({ error: HIDDEN });
    return;
  }
  if (rest === '/files') {
    const files = await deps.files.list(test.id);
    res.status(200).json({
      files: files.map((file) => ({
        name: file.name,
        size: file.size,
        contentType: file.contentType,
        updated: file.updated.toISOString(),
        url: fileUrl(deps.statusUrl, test.id, file.name),
      })),
    });
  } else if (rest === '/log') {
    await sendLogTail(deps.files, test.id, req, res);
  } else {
    await sendFile(deps.files, test.id, rest.slice('/files/'.length), res);
  }
}

async function sendFile(files: TestFileStore, testId: string, encoded: string, res: Response) {
  // Decoded once, as the upload was: a name no upload could have is no file.
  const name = uploadFileName(encoded);
  const read = name === null ? null : await files.read(testId, name);
  if (name === null || !read) {
    res.status(404).json({ error: 'File not found' });
    return;
  }
  res
    .status(200)
    .set({
      'Content-Type': downloadContentType(name),
      'Content-Disposition': contentDisposition(name),
      'Content-Length': String(read.body.length),
    })
    .end(read.body);
}

async function sendLogTail(files: TestFileStore, testId: string, req: Request, res: Response) {
  const count = tailLines(req.query.tail);
  if (count === null) {
    res.status(400).json({ error: 'tail: expected a number of lines from 1 (at most 2000)' });
    return;
  }
  // A read of no bytes tells the size; then only the log's end is read.
  const head = await files.read(testId, LOG_FILE, { start: 0, end: 0 });
  if (!head) {
    res.status(404).json({ error: 'No log for this test' });
    return;
  }
  const start = tailStart(head.file.size);
  const read = await files.read(testId, LOG_FILE, { start });
  const size = read?.file.size ?? head.file.size;
  const tail = logTail(read?.body ?? Buffer.alloc(0), start, count);
  res.status(200).json({ ...tail, size });
}
