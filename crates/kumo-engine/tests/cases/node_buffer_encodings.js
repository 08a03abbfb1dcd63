// returns: {"utf8":[["","",0],["757365723a70617373","user:pass",9],["68c3a96c6c6f2077c3b6726c64","héllo wörld",13],["e697a5e69cace8aa9e","日本語",9],["f09f988078","😀x",5],["61efbfbd62","a�b",5]],"utf-8":[["","",0],["757365723a70617373","user:pass",9],["68c3a96c6c6f2077c3b6726c64","héllo wörld",13],["e697a5e69cace8aa9e","日本語",9],["f09f988078","😀x",5],["61efbfbd62","a�b",5]],"hex":[["","",0],["","757365723a70617373",4],["","68c3a96c6c6f2077c3b6726c64",5],["","e697a5e69cace8aa9e",1],["","f09f988078",1],["","61efbfbd62",1]],"base64":[["","",0],["bac7aba5ab2c","dXNlcjpwYXNz",6],["865968c2b95d","aMOpbGxvIHfDtnJsZA==",8],["","5pel5pys6Kqe",2],["","8J+YgHg=",2],["69","Ye+/vWI=",2]],"base64url":[["","",0],["bac7aba5ab2c","dXNlcjpwYXNz",6],["865968c2b95d","aMOpbGxvIHfDtnJsZA",8],["","5pel5pys6Kqe",2],["","8J-YgHg",2],["69","Ye-_vWI",2]],"binary":[["","",0],["757365723a70617373","user:pass",9],["68e96c6c6f2077f6726c64","hÃ©llo wÃ¶rld",11],["e52c9e","æ¥æ¬èª",3],["3d0078","ðx",3],["610062","aï¿½b",3]],"latin1":[["","",0],["757365723a70617373","user:pass",9],["68e96c6c6f2077f6726c64","hÃ©llo wÃ¶rld",11],["e52c9e","æ¥æ¬èª",3],["3d0078","ðx",3],["610062","aï¿½b",3]],"ascii":[["","",0],["757365723a70617373","user:pass",9],["68e96c6c6f2077f6726c64","hC)llo wC6rld",11],["e52c9e","f\u0017%f\u001c,h*\u001e",3],["3d0078","p\u001f\u0018\u0000x",3],["610062","ao?=b",3]],"ucs2":[["","",0],["75007300650072003a007000610073007300","獵牥瀺獡",18],["6800e9006c006c006f0020007700f60072006c006400","써沩潬眠뛃汲",22],["e5652c679e8a","韦겜ꫨ",6],["3dd800de7800","鿰肘",6],["610000dc6200","붿",6]],"utf16le":[["","",0],["75007300650072003a007000610073007300","獵牥瀺獡",18],["6800e9006c006c006f0020007700f60072006c006400","써沩潬眠뛃汲",22],["e5652c679e8a","韦겜ꫨ",6],["3dd800de7800","鿰肘",6],["610000dc6200","붿",6]],"badUtf8":["�","�","�","���","😀","��","��A"],"highBytes":["Ai","Aéÿ","Aéÿ"],"lenientBase64":["68656c6c6f","68656c6c6f","68","fbffbf",""],"lenientHex":["","0a","0a1b"],"caseOfName":"AB","unknown":["TypeError","ERR_UNKNOWN_ENCODING","Unknown encoding: klingon"]}
// Every encoding both ways, on text with multi-byte characters, an astral character, a lone
// surrogate, and bytes that are not UTF-8; the expected value is Node 20's.
function main(params, context) {
  var encodings = ["utf8", "utf-8", "hex", "base64", "base64url", "binary", "latin1", "ascii", "ucs2", "utf16le"];
  var texts = ["", "user:pass", "héllo wörld", "日本語", "😀x", "a\udc00b"];
  var out = {};
  encodings.forEach(function (e) {
    out[e] = texts.map(function (t) {
      var buf = Buffer.from(t, e);
      return [buf.toString("hex"), Buffer.from(t).toString(e), Buffer.byteLength(t, e)];
    });
  });
  var bad = [[0xff], [0xc3], [0xe2, 0x82], [0xed, 0xa0, 0x80], [0xf0, 0x9f, 0x98, 0x80], [0xc0, 0xaf], [0x80, 0x80, 0x41]];
  out.badUtf8 = bad.map(function (b) { return Buffer.from(b).toString(); });
  out.highBytes = ["ascii", "latin1", "binary"].map(function (e) { return Buffer.from([0x41, 0xe9, 0xff]).toString(e); });
  out.lenientBase64 = ["aGVsbG8", "aGV sbG8=", "aG=Vsb", "-_-_", "!!!"].map(function (s) { return Buffer.from(s, "base64").toString("hex"); });
  out.lenientHex = ["zz", "0a1", "0A1bzz"].map(function (s) { return Buffer.from(s, "hex").toString("hex"); });
  out.caseOfName = Buffer.from("4142", "HEX").toString("UTF8");
  try { Buffer.from("a", "klingon"); } catch (e) { out.unknown = [e.name, e.code, e.message]; }
  return out;
}
