/** Every symbol matchcast keys private state with. */
export const kQueryToken = Symbol('matchcast.queryToken')
