import { init, update, final, digestBlock } from '../sha256';

const OUT: usize = memory.data(32, 16);
const OUT2: usize = memory.data(32, 16);
const DATA: usize = memory.data(4200, 16);
const HEX = '0123456789abcdef';

function hex(ptr: usize, len: i32): string {
  let s = '';
  for (let i = 0; i < len; i++) {
    const b = <i32>load<u8>(ptr + <usize>i);
    s += HEX.charAt(b >> 4) + HEX.charAt(b & 15);
  }
  return s;
}

function shaOf(text: string): string {
  const bytes = String.UTF8.encode(text);
  init();
  update(changetype<usize>(bytes), <u32>bytes.byteLength);
  final(OUT);
  return hex(OUT, 32);
}

function repeatA(n: i32): string {
  for (let i = 0; i < n; i++) store<u8>(DATA + <usize>i, 0x61);
  init();
  update(DATA, <u32>n);
  final(OUT);
  return hex(OUT, 32);
}

function fillData(len: i32, seed: u32): void {
  let x = seed;
  for (let i = 0; i < len; i++) {
    x = x * 1103515245 + 12345;
    store<u8>(DATA + <usize>i, <u8>(x >>> 24));
  }
}

describe('SHA-256 (FIPS 180-4 examples)', () => {
  it('hashes "abc"', () => {
    expect(shaOf('abc')).toBe('ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad');
  });

  it('hashes the 448-bit two-block message', () => {
    expect(shaOf('abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq')).toBe(
      '248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1',
    );
  });

  it('hashes the 896-bit message', () => {
    expect(
      shaOf(
        'abcdefghbcdefghicdefghijdefghijkefghijklfghijklmghijklmnhijklmnoijklmnopjklmnopqklmnopqrlmnopqrsmnopqrstnopqrstu',
      ),
    ).toBe('cf5b16a778af8380036ce59e7b0492370b249b11e8f07a51afac45037afee9d1');
  });

  it('hashes one million "a" in 1000-byte updates', () => {
    for (let i = 0; i < 1000; i++) store<u8>(DATA + <usize>i, 0x61);
    init();
    for (let i = 0; i < 1000; i++) update(DATA, 1000);
    final(OUT);
    expect(hex(OUT, 32)).toBe('cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0');
  });

  it('hashes the empty string', () => {
    expect(shaOf('')).toBe('e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855');
  });

  it('pads correctly around the 55/56/64-byte boundaries', () => {
    expect(repeatA(55)).toBe('9f4390f8d30c2dd92ec9f095b65e2b9ae9b0a925a5258e241c9f1e910f734318');
    expect(repeatA(56)).toBe('b35439a4ac6f0948b6d6f9e3c6af0f5f590ce20f1bde7090ef7970686ec6738a');
    expect(repeatA(57)).toBe('f13b2d724659eb3bf47f2dd6af1accc87b81f09f59f2b75e5c0bed6589dfe8c6');
    expect(repeatA(63)).toBe('7d3e74a05d7db15bce4ad9ec0658ea98e3f06eeecf16b4c6fff2da457ddc2f34');
    expect(repeatA(64)).toBe('ffe054fe7ae0cb6dc65c3af9b61d5209f439851db43d0ba5997337df154668eb');
    expect(repeatA(65)).toBe('635361c48bb9eab14198e76ea8ab7f1a41685d6ad62aa9146d301d4f17eb0ae0');
    expect(repeatA(119)).toBe('31eba51c313a5c08226adf18d4a359cfdfd8d2e816b13f4af952f7ea6584dcfb');
    expect(repeatA(120)).toBe('2f3d335432c70b580af0e8e1b3674a7c020d683aa5f73aaaedfdc55af904c21c');
  });
});

describe('SHA-256 streaming', () => {
  it('gives the same digest however the message is split', () => {
    fillData(1000, 7);
    init();
    update(DATA, 1000);
    final(OUT);
    const whole = hex(OUT, 32);
    for (let step: u32 = 1; step < 140; step += 3) {
      init();
      for (let off: u32 = 0; off < 1000; off += step) update(DATA + <usize>off, min(step, 1000 - off));
      final(OUT2);
      expect(hex(OUT2, 32)).toBe(whole);
    }
  });

  it('digestBlock equals nonce || address LE || bytes through init/update/final', () => {
    const nonce = DATA + 4100;
    const addr = DATA + 4136;
    for (let i = 0; i < 32; i++) store<u8>(nonce + <usize>i, <u8>(i * 13 + 1));
    const lens: u32[] = [0, 1, 7, 8, 27, 28, 29, 63, 64, 100, 1024, 4095, 4096];
    for (let k = 0; k < lens.length; k++) {
      const len = lens[k];
      fillData(<i32>len, len + 3);
      const address: u32 = 0x08000000 + len * 16;
      store<u32>(addr, address);
      digestBlock(nonce, address, DATA, len, OUT);
      init();
      update(nonce, 32);
      update(addr, 4);
      update(DATA, len);
      final(OUT2);
      expect(hex(OUT, 32)).toBe(hex(OUT2, 32), 'length ' + len.toString());
    }
  });
});
