/* options-md: print the option table of conf/options.def as the README's Markdown table. */
#include "dps_conf.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>

int main(void)
{
	const struct dps_opt_desc *o = dps_conf_options();

	printf("| option | environment | default | accepts | what it does |\n");
	printf("|---|---|---|---|---|\n");
	for (int i = 0; i < DPS_OPT_COUNT; i++) {
		char env[64];
		size_t k;

		for (k = 0; o[i].name[k] != '\0' && k + 1 < sizeof(env); k++)
			env[k] = (char)toupper((unsigned char)o[i].name[k]);
		env[k] = '\0';
		printf("| `%s` | `DPSOCK_%s` | %s%s%s | ", o[i].name, env, o[i].def[0] ? "`" : "",
		       o[i].def[0] ? o[i].def : "(empty)", o[i].def[0] ? "`" : "");
		switch (o[i].type) {
		case DPS_OPT_STR:
			printf("text");
			break;
		case DPS_OPT_UINT:
			printf("%llu-%llu", (unsigned long long)o[i].min,
			       (unsigned long long)o[i].max);
			break;
		case DPS_OPT_ENUM:
			/* `auto`, `on`, `off`: a bare '|' would end the table cell. */
			printf("`");
			for (const char *c = o[i].choices; *c != '\0'; c++)
				printf(*c == '|' ? "`, `" : "%c", *c);
			printf("`");
			break;
		case DPS_OPT_IP:
			printf("IPv4 address");
			break;
		case DPS_OPT_NETS:
			printf(strcmp(o[i].name, "ip") == 0
				   ? "`a.b.c.d/len` or `a.b.c.d-a.b.c.e/len`, comma separated"
				   : "`a.b.c.d/len`, comma separated");
			break;
		}
		printf(" | %s |\n", o[i].doc);
	}
	return 0;
}
