// Files handed over by the clipboard (paste) or a drag and drop.

/** What a paste or drop carries that we read: DataTransfer, or a test's stand-in. */
export interface TransferLike {
  readonly files?: ArrayLike<File> | null;
  readonly items?: ArrayLike<{ kind: string; getAsFile(): File | null }> | null;
  readonly types?: ReadonlyArray<string> | ArrayLike<string> | null;
  getData?(format: string): string;
}

function firstFile(data: TransferLike): File | null {
  if (data.files && data.files.length > 0) return data.files[0];
  const items = data.items;
  if (!items) return null;
  for (let i = 0; i < items.length; i += 1) {
    if (items[i].kind === 'file') {
      const f = items[i].getAsFile();
      if (f) return f;
    }
  }
  return null;
}

/**
 * The file a paste brings (a screenshot, a copied file), or null. A paste that also
 * carries plain text (a cell copied from a spreadsheet comes as text and a picture of
 * it) is left to paste as text.
 */
export function fileFromClipboard(data: TransferLike | null | undefined): File | null {
  if (!data) return null;
  const file = firstFile(data);
  if (!file) return null;
  const text = data.getData?.('text/plain') ?? '';
  return text.trim() === '' ? file : null;
}

/** The file a drop brings, or null. */
export function fileFromDrop(data: TransferLike | null | undefined): File | null {
  return data ? firstFile(data) : null;
}

/** Whether a drag carries files (so the drop target lights up for files only). */
export function dragHasFiles(data: TransferLike | null | undefined): boolean {
  const types = data?.types;
  if (!types) return false;
  return Array.from(types).includes('Files');
}
