// The terminal's HAL: the four `hal` imports of docs/abi.md. Every call returns 0 on success; any
// other value is a HAL status the engine reports in the result table.

@external('hal', 'erase')
export declare function erase(addr: u32, size: u32): i32;

@external('hal', 'read')
export declare function read(addr: u32, dst: usize, len: u32): i32;

@external('hal', 'program')
export declare function program(addr: u32, src: usize, len: u32): i32;

@external('hal', 'event')
export declare function event(kind: u32, index: u32): void;
