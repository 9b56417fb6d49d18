/** A label a model version can be moved to. */
export interface LabelTarget {
  readonly kind: 'alias' | 'stage';
  readonly name: string;
}

/**
 * Whether a project's policy protects a label, so moving a version to it must
 * go through a promotion request. The registry asks; the policy service answers.
 */
export interface ProtectedTargets {
  isProtected(projectId: string, target: LabelTarget): Promise<boolean>;
}

/** Nothing protected: local mode with no policy, and tests of the bare registry. */
export const NOTHING_PROTECTED: ProtectedTargets = { isProtected: async () => false };
