// A read handler in four steps (the reference AppView's shape):
//   skeleton      params → ids only (one indexed query)
//   hydration     ids → HydrationState (a fixed number of batched loads)
//   rules         drop what the viewer must not see (blocks, hidden actors, mutes)
//   presentation  state → lexicon view objects (pure)
import type { HydrationState } from './hydration/state.js'

export interface PipelineInput<Params, Ctx> {
  ctx: Ctx
  params: Params
  viewer: string | null
}

export type SkeletonFn<Params, Ctx, Skeleton> = (input: PipelineInput<Params, Ctx>) => Promise<Skeleton>
export type HydrationFn<Params, Ctx, Skeleton> = (
  input: PipelineInput<Params, Ctx> & { skeleton: Skeleton },
) => Promise<HydrationState>
export type RulesFn<Params, Ctx, Skeleton> = (
  input: PipelineInput<Params, Ctx> & { skeleton: Skeleton; state: HydrationState },
) => Skeleton
export type PresentationFn<Params, Ctx, Skeleton, View> = (
  input: PipelineInput<Params, Ctx> & { skeleton: Skeleton; state: HydrationState },
) => View

export function createPipeline<Params, Ctx, Skeleton, View>(
  skeletonFn: SkeletonFn<Params, Ctx, Skeleton>,
  hydrationFn: HydrationFn<Params, Ctx, Skeleton>,
  rulesFn: RulesFn<Params, Ctx, Skeleton>,
  presentationFn: PresentationFn<Params, Ctx, Skeleton, View>,
) {
  return async (input: PipelineInput<Params, Ctx>): Promise<View> => {
    const skeleton = await skeletonFn(input)
    const state = await hydrationFn({ ...input, skeleton })
    const kept = rulesFn({ ...input, skeleton, state })
    return presentationFn({ ...input, skeleton: kept, state })
  }
}

/** Rules step for handlers with nothing to filter. */
export function noRules<S>(input: { skeleton: S }): S {
  return input.skeleton
}
