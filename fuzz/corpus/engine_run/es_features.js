// returns: {"cls":"Kii!","spread":[1,2,3],"map":2,"tpl":"x=1","re":"2020","big":"9007199254740993"}
class Greeter { constructor(n) { this.n = n; } greet() { return `${this.n}!`; } }
function main(params, context) {
  const { a = 1, ...rest } = { b: 2 };
  const m = new Map([[1, "one"], [2, "two"]]);
  const match = /(?<year>\d{4})-\d\d/.exec("2020-01");
  return { cls: new Greeter("Kii").greet(), spread: [...[1, 2], 3], map: m.size, tpl: `x=${a}`,
           re: match.groups.year, big: (9007199254740992n + 1n).toString() };
}
