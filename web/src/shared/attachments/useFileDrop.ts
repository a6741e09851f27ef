// Drag and drop of a file onto a chat: the handlers for the drop target and whether
// a file is being dragged over it (to show the hint). Drags without files (text,
// links) are left alone.

import { useRef, useState, type DragEvent } from 'react';
import { dragHasFiles, fileFromDrop } from './clipboard';

export interface FileDrop {
  dragging: boolean;
  handlers: {
    onDragEnter: (e: DragEvent) => void;
    onDragOver: (e: DragEvent) => void;
    onDragLeave: (e: DragEvent) => void;
    onDrop: (e: DragEvent) => void;
  };
}

export function useFileDrop(onFile: (file: File) => void, enabled = true): FileDrop {
  const [dragging, setDragging] = useState(false);
  // dragenter/dragleave fire for every child crossed: count them.
  const depth = useRef(0);
  const reset = (): void => {
    depth.current = 0;
    setDragging(false);
  };
  return {
    dragging: enabled && dragging,
    handlers: {
      onDragEnter: (e) => {
        if (!enabled || !dragHasFiles(e.dataTransfer)) return;
        e.preventDefault();
        depth.current += 1;
        setDragging(true);
      },
      onDragOver: (e) => {
        if (!enabled || !dragHasFiles(e.dataTransfer)) return;
        e.preventDefault(); // allows the drop
        e.dataTransfer.dropEffect = 'copy';
      },
      onDragLeave: () => {
        if (!enabled || depth.current === 0) return;
        depth.current -= 1;
        if (depth.current === 0) setDragging(false);
      },
      onDrop: (e) => {
        if (!enabled) return;
        const file = fileFromDrop(e.dataTransfer);
        if (!file) return;
        e.preventDefault();
        reset();
        onFile(file);
      },
    },
  };
}
