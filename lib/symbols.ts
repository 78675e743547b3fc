/** Every symbol matchcast keys private state with. */
export const kQueryToken = Symbol('matchcast.queryToken')
/** On a room's `ws` socket: the close code the server closed it with (see `closedWith`). */
export const kClosedWith = Symbol('matchcast.closedWith')
