// Presenter: one message's text. Plain text children only (never HTML); http(s) URLs
// become links that open in a new tab without handing the opener or a referrer over;
// `dir="auto"` lets right-to-left text read right to left; a very long message shows
// its start with "Show more".

import { useState } from 'react';
import { collapsedText, linkify } from '../messageText';
import { useI18n } from '../i18n/context';

export function MessageText({ text, className = 'ls-text' }: { text: string; className?: string }) {
  const { t } = useI18n();
  const [expanded, setExpanded] = useState(false);
  const short = collapsedText(text);
  const shown = short !== null && !expanded ? short : text;
  return (
    <>
      <p className={className} dir="auto">
        {linkify(shown).map((part, i) =>
          part.kind === 'link' ? (
            <a key={i} href={part.href} target="_blank" rel="noopener noreferrer nofollow">
              {part.text}
            </a>
          ) : (
            part.text
          ),
        )}
      </p>
      {short !== null && (
        <button type="button" className="ls-more" aria-expanded={expanded} onClick={() => setExpanded((v) => !v)}>
          {expanded ? t('text.showLess') : t('text.showMore')}
        </button>
      )}
    </>
  );
}
