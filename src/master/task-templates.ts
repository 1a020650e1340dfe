/**
 * Task templates (DM's OpenAPI `/api/v1/tasks/templates`, read by `dmctl config task-template`):
 * task configs kept by name without being started, e.g. drafted in a web UI. Stored as task.yaml
 * text with the target password encrypted with the cluster's key (as a task's config is), never
 * the plain password. Any master reads and writes them (they steer nothing, so no leader fence);
 * creating an existing one or changing a missing one is refused.
 */
import type { Etcd3 } from 'etcd3';
import { compileTask } from '../config/index.js';
import { DMError } from '../errors/index.js';
import { getText, listText, type Keys } from '../store/index.js';

export class TaskTemplates {
  constructor(
    private readonly client: Etcd3,
    private readonly keys: Keys,
    private readonly secretKey: Buffer | undefined,
  ) {}

  /** The template's stored text (target password encrypted); 38006 when there is none. */
  async get(name: string): Promise<string> {
    const v = await getText(this.client, this.keys.taskTemplate(name));
    if (v === undefined) throw new DMError('ErrMasterTaskNotFound', `task template ${name} not found; GET /api/v1/tasks/templates lists the templates`);
    return v;
  }

  /** Every template: name → stored text. */
  list(): Promise<Map<string, string>> {
    return listText(this.client, this.keys.taskTemplate());
  }

  /**
   * Check `yaml` as start-task would (config keys and values; nothing is connected to) and store
   * it under its `name`. `mode`: `create` refuses an existing template, `update` a missing one,
   * `put` does either. Returns the name.
   */
  async put(yaml: string, mode: 'create' | 'update' | 'put'): Promise<string> {
    const compiled = compileTask(yaml, { file: 'task template', ...(this.secretKey ? { secretKey: this.secretKey } : {}) });
    const name = compiled.task.name;
    const key = this.keys.taskTemplate(name);
    const stored = compiled.storedText();
    if (mode === 'put') {
      await this.client.put(key).value(stored);
      return name;
    }
    const r = await this.client
      .if(key, 'Create', mode === 'create' ? '==' : '>', 0)
      .then(this.client.put(key).value(stored))
      .commit();
    if (!r.succeeded) {
      if (mode === 'create') throw new DMError('ErrOpenAPIInvalidRequest', `task template ${name} already exists; change it with PUT /api/v1/tasks/templates/${name} or choose another name`);
      throw new DMError('ErrMasterTaskNotFound', `task template ${name} not found; create it with POST /api/v1/tasks/templates`);
    }
    return name;
  }

  /** Remove a template (no error when there is none, as DM). */
  async delete(name: string): Promise<void> {
    await this.client.delete().key(this.keys.taskTemplate(name));
  }
}
