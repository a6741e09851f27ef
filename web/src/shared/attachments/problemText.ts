// An upload problem in the reader's words (the visitor's language, English on the dashboard).

import type { Translate } from '../i18n/translate';
import type { UploadProblem } from './draft';
import { formatSize } from './format';

export function problemText(problem: UploadProblem, t: Translate, locale?: string): string {
  switch (problem.kind) {
    case 'too_large':
      return t('attach.tooLarge', { limit: formatSize(problem.limit, locale) });
    case 'empty':
      return t('attach.empty');
    case 'type':
      return problem.type ? t('attach.typeNotAllowedNamed', { type: problem.type }) : t('attach.typeNotAllowed');
    case 'rate_limited':
      return problem.retryAfter ? t('attach.rateLimitedIn', { seconds: problem.retryAfter }) : t('attach.rateLimited');
    case 'busy':
      return t('attach.busy');
    case 'network':
      return t('attach.network');
    case 'ended':
      return t('chat.notSendable');
    case 'refused':
      return t('attach.refused', { reason: problem.reason });
    case 'failed':
      return t('attach.failed');
  }
}
