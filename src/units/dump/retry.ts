import { ExponentialBackoff, handleWhen, retry, type RetryPolicy } from 'cockatiel';
import { DMError } from '../../errors/index.js';
import type { LoaderConfig } from '../full/config.js';

/** Retry DMErrors the code table marks retryable (never by message text), with exponential backoff. */
export function retryPolicy(loader: Pick<LoaderConfig, 'retryAttempts' | 'retryInitialDelayMs' | 'retryMaxDelayMs'>): RetryPolicy {
  return retry(
    handleWhen((e) => e instanceof DMError && e.retryable),
    {
      maxAttempts: loader.retryAttempts,
      backoff: new ExponentialBackoff({ initialDelay: loader.retryInitialDelayMs, maxDelay: loader.retryMaxDelayMs }),
    },
  );
}
