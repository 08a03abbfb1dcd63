// returns: {"out":[["https://user:pw@example.com:8443/b/c%20d?x=1%202&y=%27#f%20g","https://example.com:8443","https:","user","pw","example.com:8443","example.com","8443","/b/c%20d","?x=1%202&y=%27","#f%20g"],["http://h/x","http://h","http:","","","h","h","","/x","",""],["http://127.0.0.1/","http://127.0.0.1","http:","","","127.0.0.1","127.0.0.1","","/","",""],["http://h/a/b","http://h","http:","","","h","h","","/a/b","",""],["foo://bar/ba%20z?q%20z","null","foo:","","","bar","bar","","/ba%20z","?q%20z",""],["mailto:someone@example.com","null","mailto:","","","","","","someone@example.com","",""],["file:///etc/hosts","null","file:","","","","","","/etc/hosts","",""],["https://example.com/%C3%BC?%C3%BC=%C3%BC#%C3%BC","https://example.com","https:","","","example.com","example.com","","/%C3%BC","?%C3%BC=%C3%BC","#%C3%BC"],["http://[::1]:8080/x","http://[::1]:8080","http:","","","[::1]:8080","[::1]","8080","/x","",""],["http://a/b/x?y#z","http://a","http:","","","a","a","","/b/x","?y","#z"],["https://other.org/p","https://other.org","https:","","","other.org","other.org","","/p","",""],["http://a/b/c?q=1","http://a","http:","","","a","a","","/b/c","?q=1",""],["http://a/b/c?q#frag","http://a","http:","","","a","a","","/b/c","?q","#frag"],["http://a/g","http://a","http:","","","a","a","","/g","",""],["http://a/b/c/g/","http://a","http:","","","a","a","","/b/c/g/","",""]],"reads":["1",["1","2"],"x y z","",null,true,4],"afterSet":["https://api.example.com/v1/items?a=9&b=x+y+z&c=&%C3%A9=a+b%26%3D%7E*#top","?a=9&b=x+y+z&c=&%C3%A9=a+b%26%3D%7E*","a=9&b=x+y+z&c=&%C3%A9=a+b%26%3D%7E*"],"setters":["https://api.example.com/n%20e?q=1#end","1",null,"https://api.example.com/n%20e?q=1#end","{\"u\":\"https://api.example.com/n%20e?q=1#end\"}"],"built":"user=a+b&n=1","iter":["x=1","y=2"],"entries":[["k","v"],["k2","v2"]],"errors":[["TypeError","ERR_INVALID_URL","Invalid URL"],["TypeError","ERR_INVALID_URL","Invalid URL"],["TypeError","ERR_INVALID_URL","Invalid URL"],["TypeError","ERR_INVALID_URL","Invalid URL"]],"canParse":[true,false]}
// WHATWG URL and URLSearchParams for the common cases; the expected value is Node 20's.
function main(params, context) {
  function parts(u) {
    return [u.href, u.origin, u.protocol, u.username, u.password, u.host, u.hostname, u.port, u.pathname, u.search, u.hash];
  }
  var cases = [
    ["https://user:pw@Example.COM:8443/a/../b/./c d?x=1 2&y='#f g"],
    ["HTTP://h:80/%2e%2E/x"],
    ["http://0x7f.1/"],
    ["http://h/a\\b"],
    ["foo://bar/ba z?q z"],
    ["mailto:someone@example.com"],
    ["file:///etc/hosts"],
    ["https://example.com/ü?ü=ü#ü"],
    ["http://[::1]:8080/x"],
    ["../x?y#z", "http://a/b/c/d"],
    ["//other.org/p", "https://a/b"],
    ["?q=1", "http://a/b/c"],
    ["#frag", "http://a/b/c?q"],
    ["../../../../g", "http://a/b/c/d;p?q"],
    ["g/", "http://a/b/c/d;p?q"],
  ];
  var out = cases.map(function (c) { return parts(new URL(c[0], c[1])); });
  var u = new URL("https://api.example.com/v1/items?a=1&b=x+y%20z&a=2&c#top");
  var p = u.searchParams;
  var reads = [p.get("a"), p.getAll("a"), p.get("b"), p.get("c"), p.get("missing"), p.has("c"), p.size];
  p.set("a", "9");
  p.append("é", "a b&=~*");
  var afterSet = [u.href, u.search, p.toString()];
  p.delete("b");
  u.search = "?q=1";
  u.hash = "end";
  u.pathname = "/n e";
  var setters = [u.href, p.get("q"), p.get("a"), String(u), JSON.stringify({ u: u })];
  var built = new URLSearchParams({ user: "a b", n: "1" }).toString();
  var pairs = new URLSearchParams([["x", "1"], ["y", "2"]]);
  var iter = [];
  pairs.forEach(function (v, k) { iter.push(k + "=" + v); });
  var errors = [];
  ["nope", "http://", "http://h:99999/", "http://a b/"].forEach(function (s) {
    try { new URL(s); errors.push("parsed " + s); } catch (e) { errors.push([e.name, e.code, e.message]); }
  });
  return { out: out, reads: reads, afterSet: afterSet, setters: setters, built: built, iter: iter,
    entries: Array.from(new URLSearchParams("k=v&k2=v2").entries()), errors: errors, canParse: [URL.canParse("x:y"), URL.canParse("/x")] };
}
