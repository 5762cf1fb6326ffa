//! The syntax tree the parser builds and the checker annotates in place (names become local
//! slots or static types). Every node keeps the byte offset of its first token so errors found
//! later, at check or run time, still point at the source.

use super::context::CtxObj;
use super::types::Ty;
use super::value::Value;

#[derive(Debug, Clone)]
pub struct Expr {
    pub kind: ExprKind,
    pub at: usize,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BinOp {
    Add,
    Sub,
    Mul,
    Div,
    Rem,
    Shl,
    Shr,
    Lt,
    Le,
    Gt,
    Ge,
    Eq,
    Ne,
    BitAnd,
    BitOr,
    BitXor,
    And,
    Or,
    Coalesce,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UnOp {
    Not,
    Neg,
    Plus,
    BitNot,
}

#[derive(Debug, Clone)]
pub enum ExprKind {
    Lit(Value),
    /// An identifier before checking; the checker turns it into `Local`, `Context` or `Type`.
    Name(String),
    Local(usize),
    Context,
    /// A context object the checker resolved from a member chain (`context.Request`,
    /// `context.Request.Url`, `context.Variables`): evaluated without looking members up by
    /// name on every request.
    CtxObject(CtxObj),
    /// A type used as the receiver of a static member: `Math.Max`, `string.Join`.
    Type(Ty),
    Interp(Vec<InterpPart>),
    Member {
        target: Box<Expr>,
        name: String,
        null_cond: bool,
    },
    Index {
        target: Box<Expr>,
        args: Vec<Expr>,
        null_cond: bool,
    },
    /// `recv.name<T…>(args)`; `recv` is `None` for a bare call such as `Foo(1)`.
    Call {
        recv: Option<Box<Expr>>,
        name: String,
        type_args: Vec<Ty>,
        args: Vec<Arg>,
        null_cond: bool,
    },
    New {
        ty: Ty,
        args: Vec<Arg>,
        /// Collection initializer entries: `{ "a", "b" }` or `{ { "k", v } }`.
        init: Vec<Vec<Expr>>,
        /// Object initializer members: `{ Key = bytes }`.
        props: Vec<(String, Expr)>,
    },
    /// `new { a = 1, b }`: an anonymous object, which Portico represents as a JObject.
    Anonymous(Vec<(String, Expr)>),
    NewArray {
        elem: Ty,
        size: Option<Box<Expr>>,
        items: Vec<Expr>,
    },
    Unary(UnOp, Box<Expr>),
    Binary(BinOp, Box<Expr>, Box<Expr>),
    Cond(Box<Expr>, Box<Expr>, Box<Expr>),
    Cast(Ty, Box<Expr>),
    Is {
        expr: Box<Expr>,
        ty: Ty,
        /// `x is string s` binds `s`.
        bind: Option<(String, usize)>,
    },
    IsNull(Box<Expr>, bool),
    As(Box<Expr>, Ty),
    Assign {
        op: Option<BinOp>,
        target: Box<Expr>,
        value: Box<Expr>,
    },
    IncDec {
        target: Box<Expr>,
        delta: i8,
        prefix: bool,
    },
    Lambda(Box<Lambda>),
    /// `out var x` / `out int x` inside an argument list.
    DeclOut {
        ty: Ty,
        name: String,
        slot: usize,
    },
    Default(Ty),
    TypeOf(Ty),
    /// A call of a local function, by its index in the checked program's function table.
    LocalCall {
        index: usize,
        args: Vec<Expr>,
    },
}

#[derive(Debug, Clone)]
pub struct Lambda {
    pub params: Vec<(String, usize)>,
    pub body: LambdaBody,
}

#[derive(Debug, Clone)]
pub enum LambdaBody {
    Expr(Expr),
    Block(Vec<Stmt>),
}

#[derive(Debug, Clone)]
pub enum InterpPart {
    Text(String),
    Hole(Expr, Option<String>),
}

#[derive(Debug, Clone)]
pub struct Arg {
    /// `preserveContent: true` names its parameter.
    pub name: Option<String>,
    pub out: bool,
    pub expr: Expr,
}

#[derive(Debug, Clone)]
pub struct Stmt {
    pub kind: StmtKind,
    pub at: usize,
}

#[derive(Debug, Clone)]
pub struct Declarator {
    pub ty: Ty,
    pub name: String,
    pub slot: usize,
    pub init: Option<Expr>,
    pub at: usize,
}

#[derive(Debug, Clone)]
pub struct Catch {
    pub var: Option<(String, usize)>,
    pub body: Vec<Stmt>,
}

#[derive(Debug, Clone)]
pub enum StmtKind {
    Expr(Expr),
    Decl(Vec<Declarator>),
    If(Expr, Box<Stmt>, Option<Box<Stmt>>),
    While(Expr, Box<Stmt>),
    DoWhile(Box<Stmt>, Expr),
    For {
        init: Vec<Stmt>,
        cond: Option<Expr>,
        step: Vec<Expr>,
        body: Box<Stmt>,
    },
    Foreach {
        ty: Ty,
        name: String,
        slot: usize,
        iter: Expr,
        body: Box<Stmt>,
    },
    Block(Vec<Stmt>),
    Return(Option<Expr>),
    Break,
    Continue,
    Throw(Option<Expr>),
    Try {
        body: Vec<Stmt>,
        catch: Option<Catch>,
        finally: Option<Vec<Stmt>>,
    },
    Empty,
    /// A local function declared in a block; the checker moves it to the function table and
    /// leaves `Empty` in its place.
    LocalFn(Box<LocalFn>),
}

/// `int Name(int a, string b) { … }` (or `=> expr;`) declared inside a statement block.
#[derive(Debug, Clone)]
pub struct LocalFn {
    pub name: String,
    pub ret: Ty,
    pub params: Vec<(Ty, String, usize)>,
    pub body: Vec<Stmt>,
    pub at: usize,
    /// Its place in the function table, given by the checker.
    pub index: usize,
    /// The local slots of its parameters and locals, saved and restored around each call so
    /// that a recursive call does not clobber its caller's.
    pub slots: std::ops::Range<usize>,
}

/// What `compile` produced: a single expression or a statement block.
#[derive(Debug, Clone)]
pub enum Program {
    Expr(Expr),
    Block(Vec<Stmt>),
}
